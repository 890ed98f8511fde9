import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { pool } from "../../../src/db/Database.js"
import { migrate, migrationsTable } from "../../../src/db/Migrations.js"
import * as TestDatabase from "../../support/TestDatabase.js"

layer(TestDatabase.layer(), { excludeTestServices: true })("Migrations", (it) => {
  it.effect("eight concurrent migrations of one empty database all succeed and create the schema once", () =>
    Effect.gen(function*() {
      const { url } = yield* TestDatabase.TestDatabase
      // Eight separate pools, as eight processes would have.
      const applied = yield* Effect.all(
        Array.from({ length: 8 }, () => migrate().pipe(Effect.provide(pool(url, { maxConnections: 2 })))),
        { concurrency: "unbounded" }
      )
      expect(applied.map((migrations) => migrations.length).sort()).toEqual([0, 0, 0, 0, 0, 0, 0, 2])

      const sql = yield* SqlClient.SqlClient
      const tables = yield* sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = 'public' order by table_name`
      expect(tables.map((row) => row.table_name)).toEqual(
        ["ai_provider_keys", "ai_provider_seed_migrations", "ai_providers", "audit_logs", "dbcrypt_keys"]
      )
      const recorded = yield* sql<{ count: string }>`select count(*) as count from ${sql(migrationsTable)}`
      expect(recorded[0]?.count).toBe("2")
      // Idempotent afterwards.
      expect(yield* migrate()).toEqual([])
    }))

  it.effect("leaves no advisory lock behind", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      // A fresh database, so the migrations really run (a current schema skips them).
      expect(yield* migrate()).toHaveLength(2)
      // This database's locks only: other test files on the same server hold theirs.
      const locks = yield* sql<{ count: string }>`
        select count(*) as count from pg_locks
        where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`
      expect(locks[0]?.count).toBe("0")
    }).pipe(Effect.provide(TestDatabase.layer())))

  it.effect("a current schema is left alone without waiting for transactions that read it", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* migrate()
      // Another session's transaction that has read the migrations table, as every seed-locked transaction
      // does, held open: the Migrator's ACCESS EXCLUSIVE table lock would wait for it without bound.
      const read = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const reader = yield* sql.withTransaction(
        sql`select max(migration_id) from ${sql(migrationsTable)}`.pipe(
          Effect.zipRight(Deferred.succeed(read, undefined)),
          Effect.zipRight(Deferred.await(release))
        )
      ).pipe(Effect.fork)
      yield* Deferred.await(read)
      const { url } = yield* TestDatabase.TestDatabase
      const applied = yield* migrate().pipe(
        Effect.provide(pool(url, { maxConnections: 2 })),
        Effect.timeout("20 seconds")
      )
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(reader)
      expect(applied).toEqual([])
    }))
})
