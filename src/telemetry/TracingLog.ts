/**
 * Tracing's own warnings. Inside a command they go through its `--log-format` logger; outside it (while
 * the run starts, and while it flushes after the command ended) Effect's default logger would print to
 * stdout, into the report: there they go to stderr as logfmt, the default format.
 */
import { Effect, FiberRef, HashSet, Logger } from "effect"

const stderrLogger = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))

export const warn = (message: string): Effect.Effect<void> =>
  Effect.flatMap(
    FiberRef.get(FiberRef.currentLoggers),
    (loggers) =>
      HashSet.has(loggers, Logger.defaultLogger)
        ? Effect.logWarning(message).pipe(Effect.provide(stderrLogger))
        : Effect.logWarning(message)
  )
