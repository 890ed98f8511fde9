import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option, Redacted } from "effect"
import { fromVariables } from "../../../src/env/IndexedConfigProvider.js"
import {
  type ExportSettings,
  parseTraceparent,
  plan,
  type TracingVariables,
  tracingVariables
} from "../../../src/telemetry/TracingConfig.js"

const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }
const traceId = "0af7651916cd43dd8448eb211c80319c"
const spanId = "b7ad6b7169203331"

const exported = (variables: TracingVariables): ExportSettings => {
  const result = plan(variables)
  expect(result.warnings).toEqual([])
  return Option.getOrThrow(result.export)
}

describe("TracingConfig.plan", () => {
  it("exports nothing without an endpoint, an empty one included, whatever else is set", () => {
    expect(plan({})).toEqual({ export: Option.none(), warnings: [] })
    expect(
      plan({
        OTEL_EXPORTER_OTLP_ENDPOINT: "  ",
        OTEL_SERVICE_NAME: "x",
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        TRACEPARENT: "garbage"
      })
    ).toEqual({ export: Option.none(), warnings: [] })
  })

  it("appends v1/traces to the base endpoint, and takes the traces endpoint as given", () => {
    expect(exported(endpoint).url).toBe("http://collector:4318/v1/traces")
    expect(exported({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example/prefix/" }).url).toBe(
      "https://otel.example/prefix/v1/traces"
    )
    expect(exported({ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://other:9000/custom" }).url).toBe(
      "http://other:9000/custom"
    )
  })

  it("turns tracing off, naming the variable, for an endpoint that is not an OTLP/HTTP URL", () => {
    for (
      const [variables, fragment] of [
        [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, "must be an http:// or https:// URL"],
        [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "not a url" }, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is not a URL"],
        [{ OTEL_EXPORTER_OTLP_ENDPOINT: "https://user:hunter2@otel.example" }, "must not hold credentials"]
      ] as const
    ) {
      const result = plan(variables)
      expect(Option.isNone(result.export)).toBe(true)
      expect(result.warnings).toHaveLength(1)
      expect(result.warnings[0]).toContain(fragment)
      expect(result.warnings[0]).not.toContain("hunter2")
    }
  })

  it("uses http/protobuf by default, http/json when asked; grpc turns it off, an unknown value is ignored", () => {
    expect(exported(endpoint).protocol).toBe("http/protobuf")
    expect(exported({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }).protocol).toBe("http/json")
    expect(
      exported({
        ...endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf"
      }).protocol
    ).toBe("http/protobuf")
    const grpc = plan({ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc" })
    expect(Option.isNone(grpc.export)).toBe(true)
    expect(grpc.warnings[0]).toContain("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc is not supported")
    const unknown = plan({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/xml" })
    expect(Option.map(unknown.export, (settings) => settings.protocol)).toEqual(Option.some("http/protobuf"))
    expect(unknown.warnings).toEqual([
      "OTEL_EXPORTER_OTLP_PROTOCOL=http/xml is not a known protocol (http/protobuf or http/json): using http/protobuf"
    ])
  })

  it("percent-decodes headers, the traces variable winning per name; a bad entry is named by position only", () => {
    const result = plan({
      ...endpoint,
      OTEL_EXPORTER_OTLP_HEADERS: Redacted.make("Authorization=Bearer%20general,x-a=1,secret-token-in-a-typo"),
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: Redacted.make("authorization=Bearer%20traces, bad name=x,x-b=%E2%9C%93")
    })
    const settings = Option.getOrThrow(result.export)
    expect(Redacted.value(settings.headers)).toEqual({ authorization: "Bearer traces", "x-a": "1", "x-b": "✓" })
    expect(result.warnings).toEqual([
      "OTEL_EXPORTER_OTLP_HEADERS: entry 3 is not a valid percent-encoded key=value pair and was ignored",
      "OTEL_EXPORTER_OTLP_TRACES_HEADERS: entry 2 is not a valid percent-encoded key=value pair and was ignored"
    ])
    expect(String(settings.headers)).not.toContain("Bearer")
  })

  it("refuses header values that fetch would reject (control characters)", () => {
    const result = plan({ ...endpoint, OTEL_EXPORTER_OTLP_HEADERS: Redacted.make("x-a=line%0Abreak,x-b=ok") })
    expect(Redacted.value(Option.getOrThrow(result.export).headers)).toEqual({ "x-b": "ok" })
    expect(result.warnings).toHaveLength(1)
  })

  it("names the service from OTEL_SERVICE_NAME, else the resource's service.name, else ai-provider-seed", () => {
    const attributes = { OTEL_RESOURCE_ATTRIBUTES: "service.name=from-attributes,team=a%2Cb%3Dc, region = eu " }
    expect(exported(endpoint).serviceName).toBe("ai-provider-seed")
    expect(exported({ ...endpoint, ...attributes })).toMatchObject({
      serviceName: "from-attributes",
      resourceAttributes: { team: "a,b=c", region: "eu" }
    })
    expect(exported({ ...endpoint, ...attributes, OTEL_SERVICE_NAME: "explicit" }).serviceName).toBe("explicit")
  })

  it("makes TRACEPARENT's span the parent, also spelled traceparent; a malformed one is named, with its value", () => {
    const parent = exported({ ...endpoint, TRACEPARENT: `00-${traceId}-${spanId}-01` }).parent
    expect(Option.map(parent, ({ spanId, traceId }) => [traceId, spanId])).toEqual(Option.some([traceId, spanId]))
    expect(Option.isSome(exported({ ...endpoint, traceparent: `00-${traceId}-${spanId}-01` }).parent)).toBe(true)
    const malformed = plan({ ...endpoint, TRACEPARENT: "00-abc-01" })
    expect(Option.map(malformed.export, (settings) => Option.isNone(settings.parent))).toEqual(Option.some(true))
    expect(malformed.warnings).toEqual([
      "TRACEPARENT is not a W3C trace context (00-<32 hex trace id>-<16 hex span id>-<2 hex flags>), got \"00-abc-01\": the run starts a new trace"
    ])
  })

  it("exports nothing when the caller did not sample its trace (flags 00)", () => {
    expect(plan({ ...endpoint, TRACEPARENT: `00-${traceId}-${spanId}-00` })).toEqual({
      export: Option.none(),
      warnings: []
    })
  })

  it("honours OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER", () => {
    expect(Option.isNone(plan({ ...endpoint, OTEL_SDK_DISABLED: "TRUE" }).export)).toBe(true)
    expect(Option.isSome(plan({ ...endpoint, OTEL_SDK_DISABLED: "false" }).export)).toBe(true)
    expect(plan({ ...endpoint, OTEL_TRACES_EXPORTER: "none" })).toEqual({ export: Option.none(), warnings: [] })
    expect(Option.isSome(plan({ ...endpoint, OTEL_TRACES_EXPORTER: "otlp" }).export)).toBe(true)
    expect(plan({ ...endpoint, OTEL_TRACES_EXPORTER: "zipkin" }).warnings).toEqual([
      "OTEL_TRACES_EXPORTER supports otlp (or none) only; traces are not exported"
    ])
  })
})

describe("TracingConfig.parseTraceparent", () => {
  it("follows W3C trace context: lowercase hex, ids not zero, version ff invalid, later versions may add fields", () => {
    expect(parseTraceparent(`00-${traceId}-${spanId}-01`)).toEqual(Option.some({ traceId, spanId, sampled: true }))
    expect(parseTraceparent(`00-${traceId}-${spanId}-02`)).toEqual(Option.some({ traceId, spanId, sampled: false }))
    expect(Option.isSome(parseTraceparent(`01-${traceId}-${spanId}-01-future`))).toBe(true)
    for (
      const invalid of [
        `00-${traceId.toUpperCase()}-${spanId}-01`,
        `00-${"0".repeat(32)}-${spanId}-01`,
        `00-${traceId}-${"0".repeat(16)}-01`,
        `ff-${traceId}-${spanId}-01`,
        `00-${traceId}-${spanId}-01-extra`,
        `00-${traceId}-${spanId}`,
        ""
      ]
    ) expect(parseTraceparent(invalid), invalid).toEqual(Option.none())
  })
})

describe("TracingConfig.tracingVariables", () => {
  it.effect("reads the variables through the program's ConfigProvider, lowercase traceparent included", () =>
    Effect.gen(function*() {
      const variables = yield* tracingVariables
      expect(variables.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://collector:4318")
      expect(variables.traceparent).toBe(`00-${traceId}-${spanId}-01`)
      expect(variables.TRACEPARENT).toBeUndefined()
      expect(variables.OTEL_EXPORTER_OTLP_HEADERS && Redacted.value(variables.OTEL_EXPORTER_OTLP_HEADERS)).toBe("a=b")
    }).pipe(Effect.withConfigProvider(fromVariables(Object.entries({
      ...endpoint,
      OTEL_EXPORTER_OTLP_HEADERS: "a=b",
      traceparent: `00-${traceId}-${spanId}-01`
    })))))

  it.effect("reads them through Config from any other ConfigProvider", () =>
    Effect.gen(function*() {
      const variables = yield* tracingVariables
      expect(variables.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://collector:4318")
      expect(variables.OTEL_SERVICE_NAME).toBe("gateway")
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(
      new Map(Object.entries({
        ...endpoint,
        OTEL_SERVICE_NAME: "gateway"
      }))
    ))))

  it.effect("none set: every variable is undefined", () =>
    Effect.gen(function*() {
      const variables = yield* tracingVariables
      expect(Object.values(variables).filter((value) => value !== undefined)).toEqual([])
      expect(plan(variables).export).toEqual(Option.none())
    }).pipe(Effect.withConfigProvider(fromVariables(Object.entries({ PATH: "/usr/bin", HOME: "/root" })))))
})
