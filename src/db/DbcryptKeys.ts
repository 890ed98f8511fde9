/**
 * The key registry `dbcrypt_keys` as the `keys` commands see it: its rows, and revocation as Coder's
 * `RevokeDBCryptKey` does it (the digest moves from `active_key_digest` to `revoked_key_digest`,
 * `revoked_at` set). A key id column references the active digest, so a key still in use cannot be
 * revoked; columns outside `EncryptedColumns` (the server's own tables, when it shares the database) are
 * found in the catalog, and a key they still use is kept active rather than failing the whole command.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import { DatabaseError } from "./DatabaseError.js"
import { encryptedColumns } from "./EncryptedColumns.js"

/** A row of `dbcrypt_keys`, as `keys status` shows it. */
export const KeyRegistryRow = Schema.Struct({
  number: Schema.Number,
  active_key_digest: Schema.NullOr(Schema.String),
  revoked_key_digest: Schema.NullOr(Schema.String),
  /** Nullable in Coder's own DDL of the table. */
  created_at: Schema.NullOr(Schema.DateFromSelf),
  revoked_at: Schema.NullOr(Schema.DateFromSelf),
  test: Schema.String
})
export type KeyRegistryRow = typeof KeyRegistryRow.Type

/** What revoking every active key but one does: which keys it revokes, which it must keep. */
export interface Revocation {
  readonly revoke: ReadonlyArray<string>
  /**
   * Active keys that stay active because columns this program does not manage (`referenced_by`,
   * `table.column`) still hold values encrypted with them.
   */
  readonly kept: ReadonlyArray<{ readonly digest: string; readonly referenced_by: ReadonlyArray<string> }>
}

const ForeignColumn = Schema.Struct({ schema: Schema.String, table: Schema.String, column: Schema.String })

const failWith = (step: string) => (error: SqlError) => Effect.fail(DatabaseError.fromSqlError(step)(error))
const decode = <A, I>(schema: Schema.Schema<A, I>, step: string) => (rows: unknown) =>
  Schema.decodeUnknown(schema)(rows).pipe(
    Effect.mapError((error) => new DatabaseError({ step, reason: `unexpected rows: ${error.message}` }))
  )

export const make = (sql: SqlClient.SqlClient) => {
  /** Every row, in `number` order. */
  const rows = sql`
    select number, active_key_digest, revoked_key_digest, created_at, revoked_at, test
    from dbcrypt_keys order by number`.pipe(
    Effect.catchTag("SqlError", failWith("read dbcrypt_keys")),
    Effect.flatMap(decode(Schema.Array(KeyRegistryRow), "read dbcrypt_keys")),
    Effect.withSpan("DbcryptKeys.rows")
  )

  /** The columns referencing `dbcrypt_keys (active_key_digest)` that are not in `EncryptedColumns`. */
  const foreignColumns = sql`
    select n.nspname as schema, c.relname as table, a.attname as column
    from pg_constraint k
    join pg_class c on c.oid = k.conrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = k.conrelid and a.attnum = k.conkey[1]
    join pg_attribute r on r.attrelid = k.confrelid and r.attnum = k.confkey[1]
    where k.contype = 'f' and k.confrelid = 'dbcrypt_keys'::regclass and r.attname = 'active_key_digest'
      and not exists (
        select 1 from jsonb_to_recordset(${
    JSON.stringify(encryptedColumns.map((column) => ({ tbl: column.table, col: column.keyId })))
  }::jsonb) as o(tbl text, col text)
        where to_regclass(o.tbl) = c.oid and o.col = a.attname)
    order by 1, 2, 3`.pipe(
    Effect.catchTag("SqlError", failWith("list the columns referencing dbcrypt_keys")),
    Effect.flatMap(decode(Schema.Array(ForeignColumn), "list the columns referencing dbcrypt_keys"))
  )

  /**
   * Which active keys revoking all but `keep` (the primary, or none) revokes, and which it keeps because
   * a column outside `EncryptedColumns` still uses them.
   */
  const plan = Effect.fn("DbcryptKeys.plan")(function*(keep: string | null) {
    const candidates = (yield* rows).flatMap((row) =>
      row.active_key_digest === null || row.active_key_digest === keep ? [] : [row.active_key_digest]
    )
    if (candidates.length === 0) return { revoke: [], kept: [] } satisfies Revocation
    const users = new Map<string, Array<string>>()
    for (const foreign of yield* foreignColumns) {
      const used = yield* sql<{ digest: string }>`
        select distinct ${sql(foreign.column)} as digest from ${sql(foreign.schema)}.${sql(foreign.table)}
        where ${sql(foreign.column)} in (select jsonb_array_elements_text(${JSON.stringify(candidates)}::jsonb))`
        .pipe(Effect.catchTag("SqlError", failWith(`read ${foreign.table}.${foreign.column}`)))
      for (const { digest } of used) {
        users.set(digest, [...users.get(digest) ?? [], `${foreign.table}.${foreign.column}`])
      }
    }
    return {
      revoke: candidates.filter((digest) => !users.has(digest)),
      kept: candidates.flatMap((digest) => {
        const referencedBy = users.get(digest)
        return referencedBy === undefined ? [] : [{ digest, referenced_by: referencedBy }]
      })
    } satisfies Revocation
  })

  /**
   * Locks every active key row until the transaction ends: a writer that would start using one of them
   * (a foreign key check takes a share lock on the row) waits, so a plan made after this stays true.
   */
  const lockActive = sql`select number from dbcrypt_keys where active_key_digest is not null for update`.pipe(
    Effect.catchTag("SqlError", failWith("lock the active keys in dbcrypt_keys")),
    Effect.asVoid,
    Effect.withSpan("DbcryptKeys.lockActive")
  )

  /** Revokes the given active keys, as `RevokeDBCryptKey` does; fails if a value still uses one. */
  const revoke = Effect.fn("DbcryptKeys.revoke")(function*(digests: ReadonlyArray<string>, at: Date) {
    if (digests.length === 0) return
    yield* sql`
      update dbcrypt_keys set revoked_key_digest = active_key_digest, active_key_digest = revoked_key_digest,
        revoked_at = ${at}
      where active_key_digest in (select jsonb_array_elements_text(${JSON.stringify(digests)}::jsonb))
        and revoked_key_digest is null`.pipe(Effect.catchTag("SqlError", failWith("revoke keys in dbcrypt_keys")))
  })

  return { rows, plan, lockActive, revoke }
}

/** Requires the SQL client; one transaction around its methods is the caller's (see `SeedLock`). */
export class DbcryptKeys extends Effect.Service<DbcryptKeys>()("ai-provider-seed/DbcryptKeys", {
  effect: Effect.map(SqlClient.SqlClient, make)
}) {}
