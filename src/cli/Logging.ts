import { Options } from "@effect/cli"
import { Logger } from "effect"

export type LogFormat = "pretty" | "json" | "logfmt"

export const logFormat = Options.choice("log-format", ["logfmt", "json", "pretty"]).pipe(
  Options.withDefault("logfmt" as LogFormat),
  Options.withDescription("Format of the log lines, which go to stderr (the report goes to stdout)")
)

/** Logs go to stderr, so stdout carries only the report. */
export const loggerLayer = (format: LogFormat) =>
  Logger.replace(
    Logger.defaultLogger,
    format === "pretty"
      ? Logger.prettyLogger({ stderr: true })
      : Logger.withConsoleError(format === "json" ? Logger.jsonLogger : Logger.logfmtLogger)
  )
