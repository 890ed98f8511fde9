/**
 * Throwaway PostgreSQL for tests, the stress script and the bench: the server they run on, and fresh
 * databases on it that are dropped when the scope closes.
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { pool } from "../src/db/Database.js"
import { EmbeddedPostgres } from "../src/db/EmbeddedPostgres.js"

/** The given server's URL, else an ephemeral embedded server that lives as long as the scope. */
export const scratchServer = (url: Option.Option<string>) =>
  Option.match(url, {
    onNone: () =>
      Effect.map(
        Layer.build(EmbeddedPostgres.layer({ mode: "ephemeral" })),
        (running) => Context.get(running, EmbeddedPostgres).url
      ),
    onSome: (url) => Effect.succeed(Redacted.make(url))
  })

/** A new empty database on the server at `adminUrl`, dropped (connections and all) when the scope closes. */
export const scratchDatabase = (adminUrl: Redacted.Redacted<string>, prefix: string) =>
  Effect.gen(function*() {
    const sql = Context.get(yield* Layer.build(pool(adminUrl, { maxConnections: 2 })), SqlClient.SqlClient)
    const name = `${prefix}_${crypto.randomUUID().replaceAll("-", "")}`
    yield* Effect.acquireRelease(
      sql`create database ${sql(name)}`,
      () => sql`drop database if exists ${sql(name)} with (force)`.pipe(Effect.orDie)
    )
    const url = new URL(Redacted.value(adminUrl))
    url.pathname = `/${name}`
    return { name, url: Redacted.make(url.toString()) }
  })
