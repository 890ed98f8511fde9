/**
 * Tracing's own warnings. They are logged outside the command (while the run starts, and while it
 * flushes after the command ended), where no `--log-format` logger is installed and Effect's default
 * logger would print to stdout, into the report: so they go to stderr as logfmt, the default format.
 */
import { Effect, Logger } from "effect"

const stderrLogger = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))

export const warn = (message: string): Effect.Effect<void> =>
  Effect.logWarning(message).pipe(Effect.provide(stderrLogger))
