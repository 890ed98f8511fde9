/**
 * Many log lines, each with its own annotations, written at once: each line is what
 * `Effect.log(message).pipe(Effect.annotateLogs(annotations))` writes (the fiber's loggers, minimum
 * level, spans and annotations, plus the line's), without setting a FiberRef per line. `annotateLogs`
 * sets one and restores it, which copies the fiber's FiberRefs twice a line: with a line per inserted
 * provider, that was a fifth of an in-process seed of 1,000 providers.
 *
 * One difference: lines under `Warning` do not become events of the current span. A span keeps
 * phase-level events (its summary line, warnings); 10,000 per-provider events held on one span until it
 * ends cost about 7 MiB at the peak of such a seed, and an exporter would ship them all.
 */
import { Cause, Clock, Context, Effect, FiberRef, HashMap, Logger, LogLevel } from "effect"

export interface LogLine {
  readonly level: LogLevel.LogLevel
  readonly message: string
  readonly annotations: Readonly<Record<string, string>>
}

export const logLines = (lines: Iterable<LogLine>): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const minimum = fiber.getFiberRef(FiberRef.currentMinimumLogLevel)
    const loggers = fiber.getFiberRef(FiberRef.currentLoggers)
    const fiberAnnotations = fiber.getFiberRef(FiberRef.currentLogAnnotations)
    const spans = fiber.getFiberRef(FiberRef.currentLogSpan)
    const context = fiber.getFiberRefs()
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    const fiberId = fiber.id()
    for (const { annotations, level, message } of lines) {
      if (LogLevel.greaterThan(minimum, level)) continue
      let lineAnnotations = fiberAnnotations
      for (const key in annotations) lineAnnotations = HashMap.set(lineAnnotations, key, annotations[key])
      const date = new Date(clock.unsafeCurrentTimeMillis())
      for (const logger of loggers) {
        if (logger === Logger.tracerLogger && LogLevel.lessThan(level, LogLevel.Warning)) continue
        logger.log({
          fiberId,
          logLevel: level,
          // As `Effect.log` hands it over: the messages of one call, as an array.
          message: [message],
          cause: Cause.empty,
          context,
          spans,
          annotations: lineAnnotations,
          date
        })
      }
    }
    return Effect.void
  })
