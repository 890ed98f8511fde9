/** Options that several commands share. */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { Duration, Effect, Option } from "effect"
import { defaultLockTimeout } from "../db/AdvisoryLock.js"

export const format = Options.choice("format", ["text", "json"]).pipe(
  Options.withDefault("text"),
  Options.withDescription("Output format: text for people, json for tools (stable, documented in the README)")
)

/**
 * `--dotenv`: Node 20 takes `--env-file` for itself even after the script's path (nodejs/node#54232), so
 * that name is only an alias, for Node versions that let it through.
 */
export const envFile = Options.text("dotenv").pipe(
  Options.withAlias("env-file"),
  Options.optional,
  Options.withDescription(
    "A dotenv file (KEY=VALUE lines) merged under the real environment: the environment wins (an empty variable is set, and wins too: the program warns). --env-file is an older alias that Node 20 itself may intercept: prefer --dotenv"
  )
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

const durationPattern = /^(\d+(?:\.\d+)?)\s*(ms|millis|s|sec|seconds?|m|min|minutes?|h|hours?)$/

const unitMillis = (unit: string) =>
  unit === "ms" || unit === "millis" ? 1 : unit.startsWith("s") ? 1000 : unit.startsWith("h") ? 3_600_000 : 60_000

/** `500ms`, `30s`, `2m`, `1h` (or `30 seconds`, ...). */
export const parseDuration = (text: string): Option.Option<Duration.Duration> => {
  const match = durationPattern.exec(text.trim())
  return match?.[1] === undefined || match[2] === undefined
    ? Option.none()
    : Option.some(Duration.millis(Number(match[1]) * unitMillis(match[2])))
}

/** PostgreSQL takes timeouts up to 2^31 - 1 ms; a day is more than any startup should wait. */
const lockTimeoutRange = { min: Duration.millis(1), max: Duration.hours(24) }

export const lockTimeout = Options.text("lock-timeout").pipe(
  Options.mapEffect((text) =>
    Option.match(parseDuration(text), {
      onNone: () =>
        Effect.fail(ValidationError.invalidValue(HelpDoc.p(
          `--lock-timeout: "${text}" is not a duration; use for example 500ms, 30s or 2m`
        ))),
      onSome: (duration) =>
        Duration.between(duration, { minimum: lockTimeoutRange.min, maximum: lockTimeoutRange.max })
          ? Effect.succeed(duration)
          : Effect.fail(ValidationError.invalidValue(HelpDoc.p(
            `--lock-timeout: "${text}" is out of range; allowed are 1ms to 24h (for example 500ms, 30s, 2m)`
          )))
    })
  ),
  Options.withDefault(defaultLockTimeout),
  Options.withDescription("How long to wait for the seed lock before failing with LockTimeout (e.g. 500ms, 30s, 2m)")
)

/** What every command takes: an env file and a log format. */
export const commonOptions = { envFile, logFormat }

/** What every database command takes. */
export const databaseOptions = { ...commonOptions, databaseUrl, lockTimeout }
