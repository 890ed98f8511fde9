/**
 * How every command runs: with its env file merged under the environment, the provider variables and the
 * encryption keys read from both (a bad key fails here, before any database is touched), and its log
 * format (to stderr); and, for the commands that talk to PostgreSQL, with the database services on the
 * pool for `--database-url`, else DATABASE_URL, else the embedded default.
 */
import { Duration, Effect, Layer, Logger, Option, type Redacted } from "effect"
import { Encryption } from "../crypto/Encryption.js"
import { serverGrace } from "../db/AdvisoryLock.js"
import * as Database from "../db/Database.js"
import * as EnvFile from "../env/EnvFile.js"
import { ProviderEnvironment } from "../env/ProviderEnvironment.js"
import type { LogFormat } from "./CommonOptions.js"

/** Logs go to stderr, so stdout carries only the report. */
const loggerLayer = (format: LogFormat) =>
  Logger.replace(
    Logger.defaultLogger,
    format === "pretty"
      ? Logger.prettyLogger({ stderr: true })
      : Logger.withConsoleError(format === "json" ? Logger.jsonLogger : Logger.logfmtLogger)
  )

export interface ContextOptions {
  readonly envFile: Option.Option<string>
  readonly logFormat: LogFormat
}

/** A command's environment (with the env file), its encryption keys and its logger. */
export const commandContext = (options: ContextOptions) =>
  Layer.mergeAll(loggerLayer(options.logFormat), ProviderEnvironment.Default, Encryption.layer).pipe(
    Layer.provideMerge(EnvFile.layer(options.envFile))
  )

/**
 * Runs a database command's work, with the database services it needs (each is a layer to build: a
 * no-op seed spent a tenth of its time building services it did not use), on the selected database,
 * after whatever it validated first. A connection in use may stay silent as long as the lock wait, the
 * server's grace and a margin for this program's own work between statements; past that the server is
 * taken for stalled.
 */
export const withDatabase = <ROut, E2, RIn>(options: {
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  readonly lockTimeout: Duration.Duration
}, services: Layer.Layer<ROut, E2, RIn>) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) => {
  const poolOptions = { silenceLimit: Duration.sum(options.lockTimeout, Duration.sum(serverGrace, workMargin)) }
  const layer = services.pipe(Layer.provideMerge(Option.match(options.databaseUrl, {
    onNone: () => Database.layerFromConfig(poolOptions),
    onSome: (url) => Database.layer({ _tag: "Url", url }, { ...poolOptions, source: "--database-url" })
  })))
  // Starting the embedded server and connecting are waits: a signal may end them (see bin.ts).
  return provideInterruptibly(layer)(effect)
}

const workMargin = Duration.seconds(10)

/**
 * Provides a layer built interruptibly: inside the program's uninterruptible run (see bin.ts), a signal
 * may still end the build (a server that starts, a connection that is made), and the fibers the build
 * forks keep their own timeouts.
 */
export const provideInterruptibly = <ROut, E2, RIn>(layer: Layer.Layer<ROut, E2, RIn>) =>
<A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | E2, Exclude<R, ROut> | RIn> =>
  Effect.scoped(Effect.flatMap(Effect.interruptible(Layer.build(layer)), (context) => Effect.provide(effect, context)))
