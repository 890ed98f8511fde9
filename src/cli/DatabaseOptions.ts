/** Options shared by the commands that talk to PostgreSQL, and the pool they select. */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { Duration, Effect, Option, type Redacted } from "effect"
import * as Database from "../db/Database.js"
import { SeedServices } from "../seed/Seed.js"
import { envFile } from "./CommonOptions.js"
import { withEnvFile } from "./EnvFile.js"
import { type LogFormat, logFormat, loggerLayer } from "./Logging.js"

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
  Options.withDefault(Duration.seconds(30)),
  Options.withDescription("How long to wait for the seed lock before failing with LockTimeout (e.g. 500ms, 30s, 2m)")
)

/** The options every database command takes. */
export const databaseCommandOptions = { databaseUrl, envFile, logFormat, lockTimeout }

/**
 * Runs a command's effect with its env file, its log format, the store and lock services, and the pool
 * for `--database-url` (else DATABASE_URL, else the embedded default).
 */
export const withDatabase = (options: {
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  readonly envFile: Option.Option<string>
  readonly logFormat: LogFormat
}) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(SeedServices),
    Effect.provide(databaseLayer(options.databaseUrl)),
    withEnvFile(options.envFile),
    Effect.provide(loggerLayer(options.logFormat))
  )

/** The pool for `--database-url`, else the configured selection (DATABASE_URL or the embedded default). */
export const databaseLayer = (url: Option.Option<Redacted.Redacted<string>>) =>
  Option.match(url, {
    onNone: () => Database.layerFromConfig(),
    onSome: (url) => Database.layer({ _tag: "Url", url }, { source: "--database-url" })
  })
