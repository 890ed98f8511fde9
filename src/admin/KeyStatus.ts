/**
 * `keys status`: the rows of `dbcrypt_keys` (number, digest, active or revoked, dates, whether a
 * configured key matches), how many values of each encrypted column each key encrypts, and how many are
 * plaintext. No key, value or ciphertext. Read under the shared seed lock without the key check, so it
 * also answers when the keys do not match the database.
 */
import { type Duration, Effect, Either, Schema } from "effect"
import { Encryption, testPlaintext } from "../crypto/Encryption.js"
import { EncryptionState, encryptionState } from "../crypto/EncryptionState.js"
import { DbcryptKeys } from "../db/DbcryptKeys.js"
import { encryptedColumns } from "../db/EncryptedColumns.js"
import { EncryptedValues } from "../db/EncryptedValues.js"
import { SeedLock } from "../db/SeedLock.js"
import { ValueCount } from "./KeyChange.js"

export class KeyRowStatus extends Schema.Class<KeyRowStatus>("KeyRowStatus")({
  number: Schema.Number,
  digest: Schema.String,
  state: Schema.Literal("active", "revoked"),
  created_at: Schema.NullOr(Schema.Date),
  revoked_at: Schema.NullOr(Schema.Date),
  /**
   * The configured key of this digest: the primary, a secondary, none, or one that does not decrypt the
   * row's test value (another key with the same digest).
   */
  configured: Schema.Literal("primary", "secondary", "no", "wrong key"),
  /** How many values (all encrypted columns) it encrypts. */
  values: Schema.Number
}) {}

export class KeyStatus extends Schema.Class<KeyStatus>("KeyStatus")({
  encryption: EncryptionState,
  keys: Schema.Array(KeyRowStatus),
  /** Configured keys that `dbcrypt_keys` does not list (a new primary is registered by the next write). */
  unregistered: Schema.Array(Schema.String),
  /** Non-NULL values by column and key; `key` null: plaintext. */
  values: Schema.Array(ValueCount),
  plaintext: Schema.Number
}) {}

export const keyStatus = Effect.fn("Keys.status")(function*(options: { readonly timeout?: Duration.DurationInput }) {
  const encryption = yield* Encryption
  const values = yield* EncryptedValues
  const keys = yield* DbcryptKeys
  const read = Effect.gen(function*() {
    const rows = yield* keys.rows
    const counts: Array<ValueCount> = []
    for (const column of encryptedColumns) {
      for (const row of yield* values.count(column)) {
        counts.push(new ValueCount({ column: column.name, key: row.key_id, count: row.values }))
      }
    }
    return { rows, counts }
  })
  const { counts, rows } = yield* (yield* SeedLock).withLock(read, {
    timeout: options.timeout,
    mode: "shared",
    readOnly: true,
    verifyKeys: false
  })
  const configured = (digest: string, test: string): KeyRowStatus["configured"] => {
    if (!encryption.digests.includes(digest)) return "no"
    const opened = encryption.decrypt(test, digest, { provider: "(none)", column: "dbcrypt_keys.test" })
    if (Either.getOrUndefined(opened) !== testPlaintext) return "wrong key"
    return encryption.digests[0] === digest ? "primary" : "secondary"
  }
  const sum = (key: string | null) =>
    counts.filter((count) => count.key === key).reduce((total, count) => total + count.count, 0)
  const keyRows = rows.flatMap((row) => {
    const digest = row.active_key_digest ?? row.revoked_key_digest
    return digest === null ? [] : [
      new KeyRowStatus({
        number: row.number,
        digest,
        state: row.active_key_digest === null ? "revoked" : "active",
        created_at: row.created_at,
        revoked_at: row.revoked_at,
        configured: configured(digest, row.test),
        values: row.active_key_digest === null ? 0 : sum(digest)
      })
    ]
  })
  return new KeyStatus({
    encryption: encryptionState(encryption),
    keys: keyRows,
    unregistered: encryption.digests.filter((digest) => !keyRows.some((row) => row.digest === digest)),
    values: counts,
    plaintext: sum(null)
  })
})
