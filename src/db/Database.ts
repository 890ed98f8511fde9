/**
 * Which PostgreSQL the program talks to: an explicit URL wins, else the embedded default.
 * The result is an `@effect/sql-pg` pool, provided as both `PgClient` and `SqlClient`.
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Duration, Effect, Layer, Option, Redacted } from "effect"
import { InvalidConfiguration } from "../core/Errors.js"
import { DatabaseError } from "./DatabaseError.js"
import { EmbeddedPostgres } from "./EmbeddedPostgres.js"

/** Every connection says who it is, so an operator can recognize the seed in `pg_stat_activity`. */
export const applicationName = "ai-provider-seed"

export type DatabaseSelection =
  | { readonly _tag: "Url"; readonly url: Redacted.Redacted<string> }
  /** `configured`: named by AI_PROVIDER_SEED_DATA_DIR (else the default, which root may relocate). */
  | { readonly _tag: "Embedded"; readonly dataDir: string; readonly configured: boolean }

export const defaultEmbeddedDataDir = ".data/postgres"

/** An empty value (a template's unset variable) counts as unset. */
const nonEmpty = <A>(config: Config.Config<A>, isEmpty: (value: A) => boolean) =>
  Config.option(config).pipe(Config.map(Option.filter((value) => !isEmpty(value))))

/** `DATABASE_URL` when set and not empty, else the embedded server in `AI_PROVIDER_SEED_DATA_DIR` (same rule). */
export const selectionFromConfig: Config.Config<DatabaseSelection> = Config.all({
  url: nonEmpty(Config.redacted("DATABASE_URL"), (url) => Redacted.value(url).trim() === ""),
  dataDir: nonEmpty(Config.string("AI_PROVIDER_SEED_DATA_DIR"), (dir) => dir.trim() === "")
}).pipe(Config.map(({ dataDir, url }) =>
  Option.match(url, {
    onNone: (): DatabaseSelection =>
      Option.match(dataDir, {
        onNone: () => ({ _tag: "Embedded", dataDir: defaultEmbeddedDataDir, configured: false }),
        onSome: (dataDir) => ({ _tag: "Embedded", dataDir, configured: true })
      }),
    onSome: (url): DatabaseSelection => ({ _tag: "Url", url })
  })
))

const dataDirVariable = "AI_PROVIDER_SEED_DATA_DIR"

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

/**
 * The pool for a selection; for the embedded default, the server lives as long as the layer. A data
 * directory that cannot be used as it is, is the configuration's problem (exit 2), not the server's.
 */
export const layer = (selection: DatabaseSelection, options: PoolOptions = {}) =>
  selection._tag === "Url"
    ? pool(selection.url, options)
    : Layer.unwrapEffect(Effect.map(EmbeddedPostgres, (server) => pool(server.url, options))).pipe(
      Layer.provide(
        EmbeddedPostgres.layer({ mode: "persistent", dataDir: selection.dataDir, relocatable: !selection.configured })
          .pipe(Layer.mapError((error) =>
            error._tag === "EmbeddedPostgresError" ? error : new InvalidConfiguration({
              variables: [dataDirVariable],
              rule: `${
                selection.configured ? "the directory it names" : `the default, ${defaultEmbeddedDataDir}`
              } (${error.dataDir}) cannot be used: ${error.reason}`,
              fix: error.fix
            })
          ))
      )
    )

export const layerFromConfig = (options: PoolOptions = {}) =>
  Layer.unwrapEffect(Effect.map(selectionFromConfig, (selection) => layer(selection, options)))
