/**
 * Which PostgreSQL the program talks to: an explicit URL wins, else the embedded default.
 * The result is an `@effect/sql-pg` pool, provided as both `PgClient` and `SqlClient`.
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Duration, Effect, Layer, Option, Redacted } from "effect"
import { DatabaseError } from "./DatabaseError.js"
import { EmbeddedPostgres } from "./EmbeddedPostgres.js"

/** Every connection says who it is, so an operator can recognize the seed in `pg_stat_activity`. */
export const applicationName = "ai-provider-seed"

export type DatabaseSelection =
  | { readonly _tag: "Url"; readonly url: Redacted.Redacted<string> }
  | { readonly _tag: "Embedded"; readonly dataDir: string }

export const defaultEmbeddedDataDir = ".data/postgres"

/** `DATABASE_URL` when set, else the embedded server in `AI_PROVIDER_SEED_DATA_DIR`. */
export const selectionFromConfig: Config.Config<DatabaseSelection> = Config.all({
  url: Config.option(Config.redacted("DATABASE_URL")),
  dataDir: Config.string("AI_PROVIDER_SEED_DATA_DIR").pipe(Config.withDefault(defaultEmbeddedDataDir))
}).pipe(Config.map(({ dataDir, url }) =>
  Option.match(url, {
    onNone: (): DatabaseSelection => ({ _tag: "Embedded", dataDir }),
    onSome: (url): DatabaseSelection => ({ _tag: "Url", url })
  })
))

export interface PoolOptions {
  /** Two at least: cancelling a statement that waits on a lock needs a free connection. */
  readonly maxConnections?: number
  readonly connectTimeout?: Duration.DurationInput
}

export const pool = (url: Redacted.Redacted<string>, options: PoolOptions = {}) =>
  PgClient.layer({
    url,
    applicationName,
    maxConnections: Math.max(2, options.maxConnections ?? 4),
    connectTimeout: options.connectTimeout ?? Duration.seconds(10)
  }).pipe(Layer.mapError((error) => DatabaseError.fromSqlError(`connect to ${describeUrl(url)}`)(error)))

/** Host, port and database of a URL: never its password. */
export const describeUrl = (url: Redacted.Redacted<string>): string => {
  try {
    const parsed = new URL(Redacted.value(url))
    return `${parsed.hostname || "localhost"}:${parsed.port || "5432"}${parsed.pathname || "/"}`
  } catch {
    return "(an unparseable database URL)"
  }
}

/** The pool for a selection; for the embedded default, the server lives as long as the layer. */
export const layer = (selection: DatabaseSelection, options: PoolOptions = {}) =>
  selection._tag === "Url"
    ? pool(selection.url, options)
    : Layer.unwrapEffect(Effect.map(EmbeddedPostgres, (server) => pool(server.url, options))).pipe(
      Layer.provide(EmbeddedPostgres.layer({ mode: "persistent", dataDir: selection.dataDir }))
    )

export const layerFromConfig = (options: PoolOptions = {}) =>
  Layer.unwrapEffect(Effect.map(selectionFromConfig, (selection) => layer(selection, options)))
