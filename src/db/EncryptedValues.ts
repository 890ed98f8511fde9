/**
 * The values of the encrypted columns (`EncryptedColumns`) as stored, for the `keys` commands: counted
 * by key, read a page at a time (rows locked for the transaction), rewritten, cleared or deleted. Values
 * here are raw (ciphertext or plaintext, with their key ids); the caller seals and opens them with
 * `Encryption`. Every statement handles at most `pageSize` rows, so 50,000 values are 50 pages.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import { blank } from "../crypto/Encryption.js"
import { DatabaseError } from "./DatabaseError.js"
import type { EncryptedColumn } from "./EncryptedColumns.js"

const pageSize = 1000

/**
 * The characters of a blank value (Go's `unicode.IsSpace`, as `Encryption` sees it), for SQL's `btrim`:
 * a value is blank exactly when trimming them leaves ''. A blank plaintext is never encrypted.
 */
const whitespace = (() => {
  // Computed on first use (the key commands), not when the module loads: a seed never needs it.
  let characters: string | undefined
  return () =>
    characters ??= Array.from({ length: 0x10000 }, (_, code) => String.fromCharCode(code))
      .filter((character) => blank.test(character))
      .join("")
})()

/** How many non-NULL values of a column one key encrypts (`key_id` NULL: plaintext; `blank` of them blank). */
const KeyCount = Schema.Struct({
  key_id: Schema.NullOr(Schema.String),
  values: Schema.Number,
  blank: Schema.Number
})

/** A stored value with its row and provider, still sealed. */
export const StoredValue = Schema.Struct({
  id: Schema.String,
  provider: Schema.String,
  value: Schema.String,
  key_id: Schema.NullOr(Schema.String)
})
export type StoredValue = typeof StoredValue.Type

/** A value to write back: ciphertext with its key's digest, or plaintext with a NULL key id. */
export interface RewrittenValue {
  readonly id: string
  readonly value: string
  readonly key_id: string | null
}

const failWith = (step: string) => (error: SqlError) => Effect.fail(DatabaseError.fromSqlError(step)(error))
const decodeCounts = Schema.decodeUnknown(Schema.Array(KeyCount))
const decodeValues = Schema.decodeUnknown(Schema.Array(StoredValue))
const decodeLosses = Schema.decodeUnknown(
  Schema.Array(Schema.Struct({ provider: Schema.String, values: Schema.Number }))
)
const undecodable = (step: string) => (error: { readonly message: string }) =>
  new DatabaseError({ step, reason: `unexpected rows: ${error.message}` })

const zeroUuid = "00000000-0000-0000-0000-000000000000"

export const make = (sql: SqlClient.SqlClient) => {
  const from = (column: EncryptedColumn) =>
    sql`${sql(column.table)} t join ai_providers p on p.id = t.${sql(column.providerId)}`

  /**
   * Rows whose key id is not `target` (a digest, or NULL for plaintext), blank plaintexts excepted: what
   * a change to `target` must rewrite (or, with NULL, every encrypted value).
   */
  const notUnder = (column: EncryptedColumn, target: string | null) =>
    sql`t.${sql(column.column)} is not null and t.${sql(column.keyId)} is distinct from ${target}
      and not (t.${sql(column.keyId)} is null and btrim(t.${sql(column.column)}, ${whitespace()}) = '')`

  /** Every non-NULL value of a column, counted by key id (NULL first). */
  const count = Effect.fn("EncryptedValues.count")(function*(column: EncryptedColumn) {
    const step = `count the values of ${column.name}`
    const rows = yield* sql`
      select t.${sql(column.keyId)} as key_id, count(*)::int as values,
        (count(*) filter (where t.${sql(column.keyId)} is null and btrim(t.${
      sql(column.column)
    }, ${whitespace()}) = ''))::int
          as blank
      from ${sql(column.table)} t where t.${sql(column.column)} is not null
      group by 1 order by 1 nulls first`.pipe(Effect.catchTag("SqlError", failWith(step)))
    return yield* Effect.mapError(decodeCounts(rows), undecodable(step))
  })

  /** The encrypted values of a column, counted by provider name: what `keys delete` takes from each. */
  const encryptedByProvider = Effect.fn("EncryptedValues.encryptedByProvider")(function*(column: EncryptedColumn) {
    const step = `count the encrypted values of ${column.name}`
    const rows = yield* sql`
      select p.name as provider, count(*)::int as values from ${from(column)}
      where ${notUnder(column, null)} group by p.name order by p.name`.pipe(Effect.catchTag("SqlError", failWith(step)))
    return yield* Effect.mapError(decodeLosses(rows), undecodable(step))
  })

  /**
   * The next page of values not under `target`, after the row id `after` (keyset paging in id order),
   * locked until the transaction ends so no other writer changes a value between its read and its rewrite.
   */
  const page = Effect.fn("EncryptedValues.page")(
    function*(column: EncryptedColumn, target: string | null, after: string | null) {
      const step = `read the values of ${column.name}`
      const rows = yield* sql`
        select t.id::text as id, p.name as provider, t.${sql(column.column)} as value, t.${sql(column.keyId)} as key_id
        from ${from(column)}
        where ${notUnder(column, target)} and t.id > ${after ?? zeroUuid}::uuid
        order by t.id limit ${pageSize}
        for update of t`.pipe(Effect.catchTag("SqlError", failWith(step)))
      return yield* Effect.mapError(decodeValues(rows), undecodable(step))
    }
  )

  /** Writes a page of values (and their key ids) back, in one statement. */
  const rewrite = Effect.fn("EncryptedValues.rewrite")(
    function*(column: EncryptedColumn, values: ReadonlyArray<RewrittenValue>) {
      if (values.length === 0) return
      yield* sql`
        update ${sql(column.table)} t set ${sql(column.column)} = v.value, ${sql(column.keyId)} = v.key_id
        from jsonb_to_recordset(${JSON.stringify(values)}::jsonb) as v(id uuid, value text, key_id text)
        where t.id = v.id`.pipe(Effect.catchTag("SqlError", failWith(`rewrite the values of ${column.name}`)))
    }
  )

  /** What `keys delete` does to a page of values whose key is lost: clear them, or delete their rows. */
  const dropLost = Effect.fn("EncryptedValues.dropLost")(
    function*(column: EncryptedColumn, ids: ReadonlyArray<string>, at: Date) {
      if (ids.length === 0) return
      const rows = sql`select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid`
      yield* (column.whenLost === "delete row"
        ? sql`delete from ${sql(column.table)} where id in (${rows})`
        : sql`update ${sql(column.table)} set ${sql(column.column)} = null, ${sql(column.keyId)} = null,
            updated_at = ${at} where id in (${rows})`).pipe(
          Effect.catchTag("SqlError", failWith(`drop the values of ${column.name}`))
        )
    }
  )

  return { count, encryptedByProvider, page, rewrite, dropLost }
}

/** Requires the SQL client; one transaction around its methods is the caller's (see `SeedLock`). */
export class EncryptedValues extends Effect.Service<EncryptedValues>()("ai-provider-seed/EncryptedValues", {
  effect: Effect.map(SqlClient.SqlClient, make)
}) {}
