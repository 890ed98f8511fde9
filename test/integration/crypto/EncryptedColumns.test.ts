/**
 * The list of encrypted columns that every `keys` command walks is the schema's: exactly the columns with
 * a foreign key onto `dbcrypt_keys (active_key_digest)` in a migrated database, so a migration that adds
 * an encrypted column fails here until the list has it.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { encryptedColumns } from "../../../src/db/EncryptedColumns.js"
import { migrate } from "../../../src/db/Migrations.js"
import * as TestDatabase from "../../support/TestDatabase.js"

/** `table.key_id_column` of every foreign key onto dbcrypt_keys (active_key_digest), from information_schema. */
const referencingColumns = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ reference: string }>`
    select k.table_name || '.' || k.column_name as reference
    from information_schema.referential_constraints r
    join information_schema.key_column_usage k
      on k.constraint_schema = r.constraint_schema and k.constraint_name = r.constraint_name
    join information_schema.key_column_usage u
      on u.constraint_schema = r.unique_constraint_schema and u.constraint_name = r.unique_constraint_name
        and u.ordinal_position = k.position_in_unique_constraint
    where u.table_name = 'dbcrypt_keys' and u.column_name = 'active_key_digest'
    order by 1`).pipe(Effect.map((rows) => rows.map((row) => row.reference)))

const listed = encryptedColumns.map((column) => `${column.table}.${column.keyId}`).sort()

layer(TestDatabase.layer(), { excludeTestServices: true })("the list of encrypted columns", (it) => {
  it.effect("is exactly the columns whose key id references dbcrypt_keys (active_key_digest)", () =>
    Effect.gen(function*() {
      yield* migrate()
      expect(yield* referencingColumns).toEqual(listed)
    }))

  it.effect("names real text columns, and each row's provider through ai_providers (id)", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* migrate()
      for (const column of encryptedColumns) {
        expect(column.name).toBe(`${column.table}.${column.column}`)
        const types = yield* sql<{ column_name: string; data_type: string }>`
          select column_name, data_type from information_schema.columns
          where table_name = ${column.table} and column_name in (${column.column}, ${column.keyId}, 'id')
          order by column_name`
        expect(Object.fromEntries(types.map((row) => [row.column_name, row.data_type]))).toEqual({
          id: "uuid",
          [column.column]: "text",
          [column.keyId]: "text"
        })
        if (column.providerId !== "id" || column.table !== "ai_providers") {
          const [reference] = yield* sql<{ target: string }>`
            select ccu.table_name || '.' || ccu.column_name as target
            from information_schema.key_column_usage k
            join information_schema.constraint_column_usage ccu on ccu.constraint_name = k.constraint_name
            where k.table_name = ${column.table} and k.column_name = ${column.providerId}`
          expect(reference?.target).toBe("ai_providers.id")
        }
      }
    }))

  it.effect("would catch a new encrypted column that the list misses", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* migrate()
      yield* sql`
        alter table ai_providers add column display_secret text null,
          add column display_secret_key_id text null references dbcrypt_keys (active_key_digest)`
      const found = yield* referencingColumns
      expect(found).not.toEqual(listed)
      expect(found).toContain("ai_providers.display_secret_key_id")
    }).pipe(Effect.provide(TestDatabase.layer())))
})
