/**
 * The standalone program's tracing. When the OpenTelemetry variables name an OTLP/HTTP endpoint
 * (see TracingConfig.ts), every span of the run is exported there, the run's root span a child of
 * `TRACEPARENT`'s; otherwise nothing is loaded and nothing is sent. Export problems are logged once
 * and never change the run's outcome or exit code.
 *
 * Servers that compose the seed keep their own tracer: only src/bin.ts provides this layer.
 */
import { Effect, Layer, Option } from "effect"
import type * as OtlpExport from "./OtlpExport.js"
import { plan, tracingVariables } from "./TracingConfig.js"
import { warn } from "./TracingLog.js"

type Exporter = typeof OtlpExport

/**
 * Installs the OTLP tracer (and `TRACEPARENT`'s span as the parent span) for what it is provided to,
 * and flushes the spans, bounded, when that ends. Reads the variables from the current ConfigProvider;
 * `loadExporter` runs only when they ask for export.
 */
export const layerWith = (loadExporter: () => Promise<Exporter>) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const { export: settings, warnings } = plan(yield* tracingVariables)
    yield* Effect.forEach(warnings, warn, { discard: true })
    if (Option.isNone(settings)) return Layer.empty
    return yield* Effect.tryPromise(loadExporter).pipe(
      Effect.map((otlp) => otlp.layer(settings.value)),
      Effect.catchAll((error) =>
        Effect.as(
          warn(
            `traces are not exported: the exporter (@effect/opentelemetry) could not be loaded (${
              error.cause instanceof Error ? error.cause.message : String(error.cause)
            }); install it next to ai-provider-seed`
          ),
          Layer.empty
        )
      )
    )
  }))

/** The exporter module is evaluated only when configured: a run without tracing does not pay for it. */
export const layer = layerWith(() => import("./OtlpExport.js"))
