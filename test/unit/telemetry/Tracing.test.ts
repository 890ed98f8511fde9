/**
 * The exporter is loaded only when the variables ask for export (the bundled program carries it, so
 * "loaded" means its module is evaluated), and a failure to load it is one warning, not a failed run.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Logger, Ref } from "effect"
import * as OtlpExport from "../../../src/telemetry/OtlpExport.js"
import { layerWith } from "../../../src/telemetry/Tracing.js"

const run = (env: Record<string, string>, load: () => Promise<typeof OtlpExport>) =>
  Effect.gen(function*() {
    const logs = yield* Ref.make<Array<string>>([])
    const logger = Logger.make(({ message }) => Effect.runSync(Ref.update(logs, (all) => [...all, String(message)])))
    yield* Effect.void.pipe(
      Effect.provide(layerWith(load)),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
    )
    return yield* Ref.get(logs)
  }).pipe(Effect.scoped)

describe("Tracing.layer loads the exporter only when configured", () => {
  it.effect("unset: the loader is never called", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const load = () => Effect.runPromise(Ref.update(calls, (n) => n + 1)).then(() => OtlpExport)
      const logs = yield* run({ OTEL_SERVICE_NAME: "unused", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }, load)
      expect(yield* Ref.get(calls)).toBe(0)
      expect(logs).toEqual([])
    }))

  it.effect("configured: the loader is called once", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const load = () => Effect.runPromise(Ref.update(calls, (n) => n + 1)).then(() => OtlpExport)
      yield* run({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9/" }, load)
      expect(yield* Ref.get(calls)).toBe(1)
    }))

  it.effect("a loader that fails is one warning naming the package, and no tracer", () =>
    Effect.gen(function*() {
      const logs = yield* run(
        { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9/" },
        () => Promise.reject(new Error("Cannot find package '@effect/opentelemetry'"))
      )
      expect(logs).toHaveLength(1)
      expect(logs[0]).toContain("the exporter (@effect/opentelemetry) could not be loaded")
    }))
})
