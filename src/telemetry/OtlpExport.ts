/**
 * The OTLP/HTTP trace exporter (`@effect/opentelemetry`'s, over `fetch`; no OpenTelemetry SDK).
 * Tracing.ts imports this module only when tracing is configured.
 *
 * Bounds: each request gives up after `requestTimeout`, and the final flush after `shutdownTimeout`,
 * so a receiver that refuses or never answers delays the exit by at most the latter. The request
 * timeout is the shorter, so a receiver that hangs during the flush is still reported.
 */
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import { Cause, ConfigProvider, Duration, Effect, Layer, Option, Redacted, Ref } from "effect"
import { describeEndpoint, type ExportSettings } from "./TracingConfig.js"
import { warn } from "./TracingLog.js"

export const requestTimeout = Duration.seconds(1)
export const shutdownTimeout = Duration.millis(1500)

/**
 * What went wrong in fetch's chain of causes: a system error code (`ECONNREFUSED`, ...), else the
 * innermost message, unless that message quotes a URL (undici's sometimes do, user info included).
 */
const transportReason = (error: unknown): string => {
  let message = "no details"
  for (let cause = error, depth = 0; typeof cause === "object" && cause !== null && depth < 8; depth++) {
    if ("code" in cause && typeof cause.code === "string") return cause.code
    if (cause instanceof Error && !cause.message.includes("://")) message = cause.message
    cause = "cause" in cause ? cause.cause : undefined
  }
  return message
}

/** Why an export failed, and what to check. Never the request itself: its headers may hold a token. */
const reasonOf = (error: HttpClientError.HttpClientError): string => {
  if (error._tag === "ResponseError") {
    const status = error.response.status
    const hint = status === 401 || status === 403
      ? ": check the credentials in OTEL_EXPORTER_OTLP_HEADERS"
      : status === 404
      ? ": check the endpoint's path (OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/traces appended)"
      : ""
    return `the receiver answered HTTP ${status}${hint}`
  }
  if (Cause.isTimeoutException(error.cause)) return `no answer within ${Duration.format(requestTimeout)}`
  return error.reason === "Transport"
    ? `the connection failed (${transportReason(error.cause)}): check that a receiver listens there`
    : `the request could not be made (${error.reason})`
}

/** fetch with a bounded wait, whose first failure is logged; the exporter retries and gives up by itself. */
const boundedClient = (url: string) =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.gen(function*() {
      const warned = yield* Ref.make(false)
      const warnOnce = (error: HttpClientError.HttpClientError) =>
        Effect.unlessEffect(
          warn(
            `could not export traces to ${describeEndpoint(url)}: ${
              reasonOf(error)
            }. The run is not affected; later export failures are not logged`
          ),
          Ref.getAndSet(warned, true)
        )
      return (yield* HttpClient.HttpClient).pipe(
        HttpClient.filterStatusOk,
        HttpClient.transform((response, request) =>
          response.pipe(
            Effect.timeoutFail({
              duration: requestTimeout,
              onTimeout: () =>
                new HttpClientError.RequestError({ request, reason: "Transport", cause: new Cause.TimeoutException() })
            }),
            Effect.tapError(warnOnce)
          )
        )
      )
    })
  ).pipe(Layer.provide(FetchHttpClient.layer))

/** The OTLP tracer for these settings, and `TRACEPARENT`'s span as the parent span when given. */
export const layer = (settings: ExportSettings): Layer.Layer<never> => {
  const tracer = Layer.unwrapScoped(
    OtlpTracer.make({
      url: settings.url,
      resource: { serviceName: settings.serviceName, attributes: settings.resourceAttributes },
      headers: Redacted.value(settings.headers),
      shutdownTimeout
    }).pipe(
      // The resource is exactly `settings`: the library would also read OTEL_RESOURCE_ATTRIBUTES itself,
      // without percent-decoding.
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
      Effect.map(Layer.setTracer)
    )
  ).pipe(
    Layer.provide(
      settings.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf
    ),
    Layer.provide(boundedClient(settings.url))
  )
  return Option.match(settings.parent, {
    onNone: () => tracer,
    onSome: (parent) => Layer.merge(tracer, Layer.parentSpan(parent))
  })
}
