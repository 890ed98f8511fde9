/** Options that several commands share. */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { Duration, Effect, Option } from "effect"
import { defaultLockTimeout } from "../db/AdvisoryLock.js"

export const format = Options.choice("format", ["text", "json"]).pipe(
  Options.withDefault("text"),
  Options.withDescription("Output format: text for people, json for tools (stable, documented in the README)")
)

export const envFile = Options.file("env-file", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription("A dotenv file (KEY=VALUE lines) merged under the real environment: the environment wins")
)

export type LogFormat = "pretty" | "json" | "logfmt"

export const logFormat = Options.choice("log-format", ["logfmt", "json", "pretty"]).pipe(
  Options.withDefault("logfmt" as LogFormat),
  Options.withDescription("Format of the log lines, which go to stderr (the report goes to stdout)")
)

export const databaseUrl = Options.redacted("database-url").pipe(
  Options.optional,
  Options.withDescription(
    "PostgreSQL URL (else DATABASE_URL; else an embedded PostgreSQL in AI_PROVIDER_SEED_DATA_DIR, default .data/postgres)"
  )
)

const durationPattern = /^(\d+(?:\.\d+)?)\s*(ms|millis|s|sec|seconds?|m|min|minutes?)$/

const unitMillis = (unit: string) => unit === "ms" || unit === "millis" ? 1 : unit.startsWith("s") ? 1000 : 60_000

/** `500ms`, `30s`, `2m` (or `30 seconds`, ...). */
export const parseDuration = (text: string): Option.Option<Duration.Duration> => {
  const match = durationPattern.exec(text.trim())
  return match?.[1] === undefined || match[2] === undefined
    ? Option.none()
    : Option.some(Duration.millis(Number(match[1]) * unitMillis(match[2])))
}

export const lockTimeout = Options.text("lock-timeout").pipe(
  Options.mapEffect((text) =>
    Option.match(parseDuration(text), {
      onNone: () =>
        Effect.fail(ValidationError.invalidValue(HelpDoc.p(
          `--lock-timeout: "${text}" is not a duration; use for example 500ms, 30s or 2m`
        ))),
      onSome: Effect.succeed
    })
  ),
  Options.withDefault(defaultLockTimeout),
  Options.withDescription("How long to wait for the seed lock before failing with LockTimeout (e.g. 500ms, 30s, 2m)")
)

/** What every command takes: an env file and a log format. */
export const commonOptions = { envFile, logFormat }

/** What every database command takes. */
export const databaseOptions = { ...commonOptions, databaseUrl, lockTimeout }
