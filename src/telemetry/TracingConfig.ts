/**
 * Which traces the program exports, from the standard OpenTelemetry variables (OTLP exporter and SDK
 * configuration specs) and W3C `TRACEPARENT`. Pure: reading the variables is a `Config`, deciding is
 * `plan`, so every rule is testable without a process. A bad setting never fails the run: it is named
 * in a warning and tracing falls back to its default or turns off, as the OpenTelemetry spec asks.
 */
import { Config, type ConfigError, Effect, Iterable, Option, Redacted, Tracer } from "effect"
import { variables } from "../env/IndexedConfigProvider.js"

export type OtlpProtocol = "http/protobuf" | "http/json"

/** What the exporter needs, decided once at start-up. */
export interface ExportSettings {
  /** The traces endpoint, `/v1/traces` included. */
  readonly url: string
  readonly protocol: OtlpProtocol
  readonly serviceName: string
  /** Resource attributes besides `service.name`. */
  readonly resourceAttributes: Readonly<Record<string, string>>
  /** May carry the receiver's token: redacted, so it never reaches a log line or an error. */
  readonly headers: Redacted.Redacted<Readonly<Record<string, string>>>
  /** The span that `TRACEPARENT` names: the parent of the run's root span. */
  readonly parent: Option.Option<Tracer.ExternalSpan>
}

export interface TracingPlan {
  /** None: nothing is loaded or sent. */
  readonly export: Option.Option<ExportSettings>
  /** Settings that were ignored, each naming its variable (never a header value). */
  readonly warnings: ReadonlyArray<string>
}

/** The variables as the environment has them; `undefined` when unset. */
export interface TracingVariables {
  readonly OTEL_SDK_DISABLED?: string | undefined
  readonly OTEL_TRACES_EXPORTER?: string | undefined
  readonly OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined
  readonly OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined
  readonly OTEL_EXPORTER_OTLP_PROTOCOL?: string | undefined
  readonly OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: string | undefined
  readonly OTEL_EXPORTER_OTLP_HEADERS?: Redacted.Redacted<string> | undefined
  readonly OTEL_EXPORTER_OTLP_TRACES_HEADERS?: Redacted.Redacted<string> | undefined
  readonly OTEL_SERVICE_NAME?: string | undefined
  readonly OTEL_RESOURCE_ATTRIBUTES?: string | undefined
  readonly TRACEPARENT?: string | undefined
  readonly traceparent?: string | undefined
}

export const defaultServiceName = "ai-provider-seed"

const optional = <A>(config: Config.Config<A>) => Config.map(Config.option(config), Option.getOrUndefined)

const throughConfig: Config.Config<TracingVariables> = Config.all({
  OTEL_SDK_DISABLED: optional(Config.string("OTEL_SDK_DISABLED")),
  OTEL_TRACES_EXPORTER: optional(Config.string("OTEL_TRACES_EXPORTER")),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(Config.string("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
  OTEL_EXPORTER_OTLP_PROTOCOL: optional(Config.string("OTEL_EXPORTER_OTLP_PROTOCOL")),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: optional(Config.string("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")),
  OTEL_EXPORTER_OTLP_HEADERS: optional(Config.redacted("OTEL_EXPORTER_OTLP_HEADERS")),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: optional(Config.redacted("OTEL_EXPORTER_OTLP_TRACES_HEADERS")),
  OTEL_SERVICE_NAME: optional(Config.string("OTEL_SERVICE_NAME")),
  OTEL_RESOURCE_ATTRIBUTES: optional(Config.string("OTEL_RESOURCE_ATTRIBUTES")),
  TRACEPARENT: optional(Config.string("TRACEPARENT")),
  traceparent: optional(Config.string("traceparent"))
})

/** Every variable read here is an `OTEL_*` or a `TRACEPARENT` in some case. */
const mayConfigureTracing = (name: string) => name.startsWith("OTEL_") || name.toUpperCase() === "TRACEPARENT"

/**
 * Reads the variables; a missing one is `undefined`, never an error. The program's own provider
 * (`fromVariables`) tells at once when none of them is set, as on most starts: reading the twelve through
 * `Config` anyway took 3 ms of a no-op seed's start (bench/PROFILE.md, part 7).
 */
export const tracingVariables: Effect.Effect<TracingVariables, ConfigError.ConfigError> = Effect.flatMap(
  Effect.configProviderWith(Effect.succeed),
  (provider) => {
    const plain = variables(provider)
    return plain !== undefined && !Iterable.some(plain.keys(), mayConfigureTracing) ? Effect.succeed({}) : throughConfig
  }
)

/** The spec treats an empty value as unset. */
const present = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === "" ? undefined : trimmed
}

/** A URL for messages: scheme, host and path only, since user info or a query may hold a token. */
export const describeEndpoint = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`
  } catch {
    return "(an unparseable URL)"
  }
}

type Endpoint = { readonly _tag: "Url"; readonly url: string } | { readonly _tag: "Invalid"; readonly warning: string }

/** The traces URL: the signal's own variable as given, else the base with `v1/traces` appended. */
const endpointOf = (variables: TracingVariables): Endpoint | undefined => {
  const traces = present(variables.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
  const base = present(variables.OTEL_EXPORTER_OTLP_ENDPOINT)
  const [name, url] = traces !== undefined
    ? ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces]
    : base !== undefined
    ? ["OTEL_EXPORTER_OTLP_ENDPOINT", `${base}${base.endsWith("/") ? "" : "/"}v1/traces`]
    : [undefined, undefined]
  if (name === undefined || url === undefined) return undefined
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { _tag: "Invalid", warning: `${name} is not a URL: set it to http(s)://host:port; traces are not exported` }
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return {
      _tag: "Invalid",
      warning: `${name} must be an http:// or https:// URL (OTLP/HTTP, got ${parsed.protocol}); traces are not exported`
    }
  }
  // fetch refuses such URLs, quoting them (password included) in its error.
  if (parsed.username !== "" || parsed.password !== "") {
    return {
      _tag: "Invalid",
      warning:
        `${name} must not hold credentials (user:password@): send them in OTEL_EXPORTER_OTLP_HEADERS (for example authorization=Basic%20...); traces are not exported`
    }
  }
  return { _tag: "Url", url }
}

type Protocol = { readonly _tag: "Protocol"; readonly protocol: OtlpProtocol; readonly warnings: Array<string> } | {
  readonly _tag: "Unsupported"
  readonly warning: string
}

const protocolOf = (variables: TracingVariables): Protocol => {
  const traces = present(variables.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
  const name = traces !== undefined ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL"
  const value = traces ?? present(variables.OTEL_EXPORTER_OTLP_PROTOCOL)
  if (value === undefined || value === "http/protobuf" || value === "http/json") {
    return { _tag: "Protocol", protocol: value ?? "http/protobuf", warnings: [] }
  }
  if (value === "grpc") {
    return {
      _tag: "Unsupported",
      warning:
        `${name}=grpc is not supported (OTLP over HTTP only): set http/protobuf or http/json and the HTTP port (usually 4318); traces are not exported`
    }
  }
  return {
    _tag: "Protocol",
    protocol: "http/protobuf",
    warnings: [`${name}=${value} is not a known protocol (http/protobuf or http/json): using http/protobuf`]
  }
}

/**
 * `key=value,key=value` with percent-encoded keys and values (W3C Baggage syntax, as the spec says for
 * OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS). A bad entry is skipped with a warning that
 * names the variable and the entry's position: never its text, which may hold a secret.
 */
export const parseKeyValues = (
  name: string,
  text: string,
  valid: (key: string, value: string) => boolean = () => true
): { readonly entries: Record<string, string>; readonly warnings: Array<string> } => {
  const entries: Record<string, string> = {}
  const warnings: Array<string> = []
  text.split(",").forEach((entry, index) => {
    if (entry.trim() === "") return
    const equals = entry.indexOf("=")
    const decoded = equals <= 0 ? undefined : decode(entry.slice(0, equals).trim(), entry.slice(equals + 1).trim())
    if (decoded !== undefined && decoded[0] !== "" && valid(decoded[0], decoded[1])) {
      entries[decoded[0]] = decoded[1]
    } else {
      warnings.push(`${name}: entry ${index + 1} is not a valid percent-encoded key=value pair and was ignored`)
    }
  })
  return { entries, warnings }
}

const decode = (key: string, value: string): readonly [string, string] | undefined => {
  try {
    return [decodeURIComponent(key), decodeURIComponent(value)]
  } catch {
    return undefined
  }
}

/** An HTTP field name (RFC 9110 token), and a value without control characters: what fetch accepts. */
const validHeader = (name: string, value: string) =>
  /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)

/** Both header variables, the traces one winning name by name (as the OpenTelemetry SDKs merge them). */
const headersOf = (variables: TracingVariables) => {
  const warnings: Array<string> = []
  const headers: Record<string, string> = {}
  for (
    const [name, value] of [
      ["OTEL_EXPORTER_OTLP_HEADERS", variables.OTEL_EXPORTER_OTLP_HEADERS],
      ["OTEL_EXPORTER_OTLP_TRACES_HEADERS", variables.OTEL_EXPORTER_OTLP_TRACES_HEADERS]
    ] as const
  ) {
    if (value === undefined) continue
    const parsed = parseKeyValues(name, Redacted.value(value), validHeader)
    warnings.push(...parsed.warnings)
    for (const [key, text] of Object.entries(parsed.entries)) headers[key.toLowerCase()] = text
  }
  return { headers: Redacted.make(headers), warnings }
}

const traceparentFormat = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/

/**
 * W3C trace context level 1: `00-<trace id>-<parent id>-<flags>`, lowercase hex, ids not all zero. A
 * later version may append fields after a `-`; version `ff` is invalid.
 */
export const parseTraceparent = (
  value: string
): Option.Option<{ readonly traceId: string; readonly spanId: string; readonly sampled: boolean }> => {
  const match = traceparentFormat.exec(value.trim())
  if (match === null) return Option.none()
  const [, version, traceId, spanId, flags, rest] = match
  if (
    version === undefined || traceId === undefined || spanId === undefined || flags === undefined ||
    version === "ff" || (version === "00" && rest !== undefined) ||
    /^0+$/.test(traceId) || /^0+$/.test(spanId)
  ) return Option.none()
  return Option.some({ traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 })
}

const off = (warnings: ReadonlyArray<string>): TracingPlan => ({ export: Option.none(), warnings })

/** What to export, and what was ignored on the way. */
export const plan = (variables: TracingVariables): TracingPlan => {
  if (present(variables.OTEL_SDK_DISABLED)?.toLowerCase() === "true") return off([])
  const exporters = present(variables.OTEL_TRACES_EXPORTER)?.split(",").map((name) => name.trim())
  if (exporters !== undefined && !exporters.includes("otlp")) {
    return off(
      exporters.every((name) => name === "none")
        ? []
        : [`OTEL_TRACES_EXPORTER supports otlp (or none) only; traces are not exported`]
    )
  }
  const endpoint = endpointOf(variables)
  if (endpoint === undefined) return off([])
  if (endpoint._tag === "Invalid") return off([endpoint.warning])
  const protocol = protocolOf(variables)
  if (protocol._tag === "Unsupported") return off([protocol.warning])
  const warnings = [...protocol.warnings]

  const traceparentName = variables.TRACEPARENT !== undefined ? "TRACEPARENT" : "traceparent"
  const traceparent = present(variables.TRACEPARENT ?? variables.traceparent)
  const parent = traceparent === undefined ? Option.none() : parseTraceparent(traceparent)
  if (traceparent !== undefined && Option.isNone(parent)) {
    warnings.push(
      `${traceparentName} is not a W3C trace context (00-<32 hex trace id>-<16 hex span id>-<2 hex flags>), got ${
        JSON.stringify(traceparent)
      }: the run starts a new trace`
    )
  }
  // A caller that did not sample its trace asks for this part not to be recorded either.
  if (Option.isSome(parent) && !parent.value.sampled) return off(warnings)

  const attributes = variables.OTEL_RESOURCE_ATTRIBUTES === undefined
    ? { entries: {}, warnings: [] }
    : parseKeyValues("OTEL_RESOURCE_ATTRIBUTES", variables.OTEL_RESOURCE_ATTRIBUTES)
  warnings.push(...attributes.warnings)
  const { "service.name": attributeServiceName, ...resourceAttributes } = attributes.entries
  const headers = headersOf(variables)
  warnings.push(...headers.warnings)

  return {
    export: Option.some({
      url: endpoint.url,
      protocol: protocol.protocol,
      serviceName: present(variables.OTEL_SERVICE_NAME) ?? attributeServiceName ?? defaultServiceName,
      resourceAttributes,
      headers: headers.headers,
      parent: Option.map(parent, ({ sampled, spanId, traceId }) => Tracer.externalSpan({ traceId, spanId, sampled }))
    }),
    warnings
  }
}
