import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import * as TestDatabase from "../../support/TestDatabase.js"

layer(TestDatabase.layer(), { excludeTestServices: true })("TestDatabase", (it) => {
  it.effect("gives each file its own empty database on the run's server", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { name } = yield* TestDatabase.TestDatabase
      const [row] = yield* sql<{ database: string; port: string; tables: string }>`
        select current_database() as database, current_setting('port') as port,
          (select count(*) from pg_tables where schemaname = 'public') as tables`
      expect(row?.database).toBe(name)
      expect(row?.tables).toBe("0")
      // Without TEST_DATABASE_URL nothing may touch the machine's server on 5432.
      if (inject("databaseKind") === "embedded") expect(row?.port).not.toBe("5432")
    }))
})
