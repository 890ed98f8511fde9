import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
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
      yield* migrate()
      const locks = yield* sql<{ count: string }>`select count(*) as count from pg_locks where locktype = 'advisory'`
      expect(locks[0]?.count).toBe("0")
    }))
})
