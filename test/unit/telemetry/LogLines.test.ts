/**
 * `logLines` writes what one `Effect.log(...).pipe(Effect.annotateLogs(...))` per line writes: the same
 * records (level, message, the fiber's annotations plus the line's, spans, fiber) to every logger,
 * lines under the minimum level left out, and the fiber's own annotations untouched afterwards; only
 * warnings (and worse) become events of the current span.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FiberRef, HashMap, List, Logger, LogLevel, Tracer } from "effect"
import { type LogLine, logLines } from "../../../src/telemetry/LogLines.js"

/** Runs `write` with two capturing loggers; what each received, as comparable values. */
const captured = (write: Effect.Effect<void>) =>
  Effect.gen(function*() {
    const records: Array<Array<unknown>> = [[], []]
    const capture = (into: Array<unknown>) =>
      Logger.make(({ annotations, fiberId, logLevel, message, spans }) => {
        into.push({
          level: logLevel.label,
          message,
          annotations: Object.fromEntries(HashMap.toEntries(annotations)),
          spans: List.toArray(spans).map((span) => span.label),
          fiberId
        })
      })
    const after = yield* write.pipe(
      Effect.andThen(FiberRef.get(FiberRef.currentLogAnnotations)),
      Effect.annotateLogs("request_id", "r-1"),
      Effect.withLogSpan("seed"),
      Logger.withMinimumLogLevel(LogLevel.Info),
      Effect.provide(Logger.replace(Logger.defaultLogger, capture(records[0]!))),
      Effect.provide(Logger.add(capture(records[1]!)))
    )
    return { records, after: HashMap.size(after) }
  })

const lines: ReadonlyArray<LogLine> = [
  { level: LogLevel.Info, message: "provider inserted", annotations: { provider: "a", action: "inserted" } },
  { level: LogLevel.Debug, message: "below the minimum", annotations: { provider: "b", action: "inserted" } },
  { level: LogLevel.Warning, message: "a warning", annotations: { provider: "c", action: "conflict" } },
  { level: LogLevel.Info, message: "overrides", annotations: { request_id: "line's own" } }
]

describe("logLines", () => {
  it.effect("writes what Effect.log with annotateLogs writes, line by line", () =>
    Effect.gen(function*() {
      const fast = yield* captured(logLines(lines))
      const usual = yield* captured(
        Effect.forEach(lines, (line) =>
          Effect.logWithLevel(line.level, line.message).pipe(Effect.annotateLogs(line.annotations)), {
          discard: true
        })
      )
      expect(fast.records[0]).toHaveLength(3)
      expect(fast.records[0]).toEqual(fast.records[1])
      expect(fast.records.map((records) =>
        records.map((record) => ({ ...(record as object), fiberId: 0 }))
      )).toEqual(
        usual.records.map((records) => records.map((record) => ({ ...(record as object), fiberId: 0 })))
      )
      expect(fast.records[0]![2]).toMatchObject({ annotations: { request_id: "line's own" }, spans: ["seed"] })
      // The fiber's annotations are the same after the lines as before them.
      expect(fast.after).toBe(1)
    }))

  it.effect("writes nothing when every line is under the minimum level", () =>
    Effect.gen(function*() {
      const { records } = yield* captured(logLines([lines[1]!]))
      expect(records).toEqual([[], []])
    }))

  it.effect("only warnings become events of the current span", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const tracer = Tracer.make({
        span: (name, parent, context, links, startTime, kind) => ({
          _tag: "Span",
          name,
          spanId: "span",
          traceId: "trace",
          parent,
          context,
          status: { _tag: "Started", startTime },
          attributes: new Map(),
          links,
          sampled: true,
          kind,
          end: () => undefined,
          attribute: () => undefined,
          event: (name) => void events.push(name),
          addLinks: () => undefined
        }),
        context: (f) => f()
      })
      yield* logLines(lines).pipe(
        Effect.withSpan("seed"),
        Effect.withTracer(tracer),
        Logger.withMinimumLogLevel(LogLevel.Info),
        Effect.provide(Logger.replace(Logger.defaultLogger, Logger.none))
      )
      expect(events).toEqual(["a warning"])
    }))
})
