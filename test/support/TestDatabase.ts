/**
 * A fresh, empty database for one test file (or one test), on the run's server, dropped afterwards.
 * Provides the pool (`PgClient`, `SqlClient`) and `TestDatabase` with the URL, for second sessions
 * and child processes.
 */
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Redacted } from "effect"
import { inject } from "vitest"
import { pool, type PoolOptions } from "../../src/db/Database.js"

export class TestDatabase extends Context.Tag("test/TestDatabase")<TestDatabase, {
  readonly url: Redacted.Redacted<string>
  readonly name: string
}>() {}

export const adminUrl = () => Redacted.make(inject("adminDatabaseUrl"))

const withDatabase = (url: string, database: string) => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

const admin = Layer.unwrapEffect(Effect.sync(() => pool(adminUrl(), { maxConnections: 2 })))

const freshDatabase = Effect.gen(function*() {
  const sql = yield* PgClient.PgClient
  const name = `seed_test_${crypto.randomUUID().replaceAll("-", "")}`
  yield* Effect.acquireRelease(
    sql`create database ${sql(name)}`,
    () => sql`drop database if exists ${sql(name)} with (force)`.pipe(Effect.orDie)
  )
  return { name, url: Redacted.make(withDatabase(inject("adminDatabaseUrl"), name)) }
})

export const layer = (options: PoolOptions = {}) =>
  Layer.unwrapScoped(
    Effect.map(freshDatabase, (database) =>
      Layer.merge(Layer.succeed(TestDatabase, database), pool(database.url, options)))
  ).pipe(Layer.provide(admin))
