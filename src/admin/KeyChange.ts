/**
 * `keys rotate`, `keys decrypt` and `keys delete` (issue 13): one change to every value of every encrypted
 * column (`EncryptedColumns`), then the revocation of the keys nothing uses any more, under the seed lock
 * in one transaction (all or nothing), a page of rows at a time, each changed row audited by its key ids
 * only (never a value or a ciphertext), with a progress line per page of a thousand rows.
 *
 * - rotate: every value not under the primary key is re-encrypted with it (plaintext too, except blank
 *   values, which are never encrypted); then every other active key is revoked.
 * - decrypt: every encrypted value is written back as plaintext with a NULL key id; every key is revoked.
 * - delete (for lost keys): every encrypted value is dropped (a key row deleted, settings cleared) without
 *   being read; every key is revoked. It skips the key check, so it runs when keys are missing.
 */
import { Clock, type Duration, Effect, Either, Option, Schema } from "effect"
import { auditEntry, type AuditRow } from "../audit/Audit.js"
import { Ids, type Stamp, stamp } from "../core/Ids.js"
import { Encryption } from "../crypto/Encryption.js"
import { encryptionKeysVariable } from "../crypto/EncryptionKeys.js"
import { DbcryptKeys } from "../db/DbcryptKeys.js"
import { type EncryptedColumn, encryptedColumns } from "../db/EncryptedColumns.js"
import { EncryptedValues, type RewrittenValue, type StoredValue } from "../db/EncryptedValues.js"
import { ProviderStore } from "../db/ProviderStore.js"
import { SeedLock } from "../db/SeedLock.js"
import { KeyOperationRefused } from "./KeyOperationRefused.js"

export const KeyOperation = Schema.Literal("rotate", "decrypt", "delete")
export type KeyOperation = typeof KeyOperation.Type

/** How many values of one column one key encrypts; `key` null: plaintext. */
export class ValueCount extends Schema.Class<ValueCount>("ValueCount")({
  column: Schema.String,
  key: Schema.NullOr(Schema.String),
  count: Schema.Number
}) {}

/** What `keys delete` takes from one provider: `count` values of `column`. */
export class ProviderLoss extends Schema.Class<ProviderLoss>("ProviderLoss")({
  provider: Schema.String,
  column: Schema.String,
  count: Schema.Number
}) {}

/** An active key left active: columns this program does not manage (`referenced_by`) still use it. */
export class KeptKey extends Schema.Class<KeptKey>("KeptKey")({
  digest: Schema.String,
  referenced_by: Schema.Array(Schema.String)
}) {}

export class KeyChangeReport extends Schema.Class<KeyChangeReport>("KeyChangeReport")({
  operation: KeyOperation,
  /** false: what the command would change, shown before it asks; nothing was written. */
  applied: Schema.Boolean,
  /** The audit entries' request id; null when nothing was written. */
  request_id: Schema.NullOr(Schema.String),
  /** The key values are moved to: the primary's digest (rotate); null for plaintext (decrypt) or none (delete). */
  target: Schema.NullOr(Schema.String),
  /** The values changed (rotate, decrypt) or dropped (delete), by column and by the key they were under. */
  values: Schema.Array(ValueCount),
  /** delete: which providers lost what, by column. */
  lost: Schema.Array(ProviderLoss),
  /** The digests revoked (or to be revoked). */
  revoked: Schema.Array(Schema.String),
  kept: Schema.Array(KeptKey)
}) {
  /** Whether it changes anything at all. */
  get changes(): boolean {
    return this.values.length > 0 || this.revoked.length > 0
  }
}

export interface KeyChangeOptions {
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The key values are moved to: rotate needs a primary key (refused before any database access without
 * one); decrypt and delete move them to plaintext or nowhere.
 */
export const targetOf = Effect.fn("Keys.target")(function*(operation: KeyOperation) {
  if (operation !== "rotate") return null
  const encryption = yield* Encryption
  return yield* Option.match(encryption.primaryDigest, {
    onSome: Effect.succeed,
    onNone: () =>
      new KeyOperationRefused({
        operation,
        reason:
          `no encryption key is configured (${encryptionKeysVariable} is unset or empty), so there is no key to rotate to`,
        fix:
          `set ${encryptionKeysVariable} to the new key followed by the current ones (\`new,old\`); to store plaintext instead, run \`keys decrypt\``
      })
  })
})

const lockOptions = (operation: KeyOperation, options: KeyChangeOptions) => ({
  timeout: options.timeout,
  // delete reads no encrypted value and writes none: it must run when the keys are lost.
  verifyKeys: operation !== "delete"
})

/** Names and digests in code unit order (`order by` in the C collation; names are `[a-z0-9-]`). */
const byName = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0

/** Counts per column and key, in `encryptedColumns` order, then key order (plaintext first). */
const countsOf = (counts: Map<string, Map<string | null, number>>) =>
  encryptedColumns.flatMap((column) =>
    Array.from(counts.get(column.name) ?? new Map<string | null, number>())
      .sort(([a], [b]) => a === b ? 0 : a === null ? -1 : b === null ? 1 : byName(a, b))
      .map(([key, count]) => new ValueCount({ column: column.name, key, count }))
  )

const tally = <K>(counts: Map<string, Map<K, number>>, column: string, key: K, n = 1) => {
  const byKey = counts.get(column) ?? new Map<K, number>()
  byKey.set(key, (byKey.get(key) ?? 0) + n)
  counts.set(column, byKey)
}

/** What the change would do now: the values not under `target`, by key, and the keys it would revoke. */
const plan = (operation: KeyOperation, target: string | null) =>
  Effect.gen(function*() {
    const values = yield* EncryptedValues
    const counts = new Map<string, Map<string | null, number>>()
    const lost: Array<ProviderLoss> = []
    for (const column of encryptedColumns) {
      for (const row of yield* values.count(column)) {
        const count = row.key_id === null ? row.values - row.blank : row.values
        if (row.key_id !== target && count > 0) tally(counts, column.name, row.key_id, count)
      }
      if (operation === "delete") {
        for (const { provider, values: count } of yield* values.encryptedByProvider(column)) {
          lost.push(new ProviderLoss({ provider, column: column.name, count }))
        }
      }
    }
    const revocation = yield* (yield* DbcryptKeys).plan(target)
    return { values: countsOf(counts), lost, revocation }
  })

/** What the command would change, read under the shared seed lock in a read-only transaction. */
export const planKeyChange = Effect.fn("Keys.plan")(
  function*(operation: KeyOperation, target: string | null, options: KeyChangeOptions = {}) {
    const planned = yield* (yield* SeedLock).withLock(plan(operation, target), {
      ...lockOptions(operation, options),
      mode: "shared",
      readOnly: true
    })
    return new KeyChangeReport({
      operation,
      applied: false,
      request_id: null,
      target,
      values: planned.values,
      lost: [...planned.lost].sort((a, b) => byName(a.provider, b.provider)),
      revoked: planned.revocation.revoke,
      kept: planned.revocation.kept.map((kept) => new KeptKey(kept))
    })
  }
)

const describeValues = (values: ReadonlyArray<ValueCount>) =>
  values.length === 0
    ? "no value"
    : values.map((count) => `${count.count} of ${count.column} under ${count.key ?? "plaintext"}`).join(", ")

/**
 * Makes the change under the seed lock, in one transaction: the values a page at a time, then the
 * revocation; returns what it did (which may differ from an earlier plan if seeds ran in between).
 */
export const applyKeyChange = Effect.fn("Keys.apply")(
  function*(operation: KeyOperation, target: string | null, options: KeyChangeOptions = {}) {
    const encryption = yield* Encryption
    const values = yield* EncryptedValues
    const keys = yield* DbcryptKeys
    const store = yield* ProviderStore
    const requestId = (yield* Ids).uuid()

    /** A page's values opened and sealed again (rotate) or left open (decrypt); fails on one that does not decrypt. */
    const rewritten = (column: EncryptedColumn, rows: ReadonlyArray<StoredValue>) =>
      Either.all(rows.map((row) =>
        Either.map(
          encryption.decrypt(row.value, row.key_id, { provider: row.provider, column: column.name }),
          (plaintext): RewrittenValue => {
            const sealed = operation === "rotate" ? encryption.encrypt(plaintext) : { value: plaintext, keyId: null }
            return { id: row.id, value: sealed.value, key_id: sealed.keyId }
          }
        )
      ))

    const audited = (now: Stamp, column: EncryptedColumn, row: StoredValue, newKeyId: string | null) => {
      const lostRow = operation === "delete" && column.whenLost === "delete row"
      return auditEntry(now, requestId, {
        action: lostRow ? "delete" : "write",
        resource_type: column.resourceType,
        resource_id: row.id,
        resource_target: row.provider,
        diff: lostRow
          ? { provider: row.provider, [column.keyId]: row.key_id, reason: "encryption key lost (keys delete)" }
          : {
            provider: row.provider,
            old: { [column.keyId]: row.key_id },
            new: operation === "delete"
              ? { [column.column]: null, [column.keyId]: null }
              : { [column.keyId]: newKeyId }
          }
      })
    }

    const change = Effect.gen(function*() {
      const planned = yield* plan(operation, target)
      yield* Effect.logInfo(`keys ${operation}: changing ${describeValues(planned.values)}`).pipe(
        Effect.annotateLogs({ target: target ?? "none" })
      )
      const counts = new Map<string, Map<string | null, number>>()
      const lost = new Map<string, Map<string, number>>()
      for (const column of encryptedColumns) {
        const total = planned.values.filter((count) => count.column === column.name)
          .reduce((sum, count) => sum + count.count, 0)
        let after: string | null = null
        let done = 0
        while (true) {
          const rows: ReadonlyArray<StoredValue> = yield* values.page(column, target, after)
          if (rows.length === 0) break
          const now = yield* stamp
          const audit: Array<AuditRow> = []
          if (operation === "delete") {
            yield* values.dropLost(column, rows.map((row) => row.id), now.now)
            for (const row of rows) {
              audit.push(audited(now, column, row, null))
              tally(lost, row.provider, column.name)
            }
          } else {
            const page = yield* rewritten(column, rows)
            yield* values.rewrite(column, page)
            for (const [i, row] of rows.entries()) audit.push(audited(now, column, row, page[i]?.key_id ?? null))
          }
          for (const row of rows) tally(counts, column.name, row.key_id)
          yield* store.insertAudit(audit)
          done += rows.length
          after = rows[rows.length - 1]?.id ?? null
          yield* Effect.logInfo(`keys ${operation}: ${done} of ${Math.max(done, total)} values of ${column.name}`)
            .pipe(Effect.annotateLogs({ column: column.name, done, total: Math.max(done, total) }))
        }
      }
      // Locked first, so no writer starts using a key between the plan and the revocation.
      yield* keys.lockActive
      const revocation = yield* keys.plan(target)
      yield* keys.revoke(revocation.revoke, new Date(yield* Clock.currentTimeMillis))
      const report = new KeyChangeReport({
        operation,
        applied: true,
        request_id: requestId,
        target,
        values: countsOf(counts),
        lost: Array.from(lost).sort(([a], [b]) => byName(a, b)).flatMap(([provider, byColumn]) =>
          Array.from(byColumn, ([column, count]) => new ProviderLoss({ provider, column, count }))
        ),
        revoked: revocation.revoke,
        kept: revocation.kept.map((kept) => new KeptKey(kept))
      })
      yield* Effect.logInfo(`keys ${operation}: done`).pipe(Effect.annotateLogs({
        values: report.values.reduce((sum, count) => sum + count.count, 0),
        revoked: report.revoked.join(",") || "none",
        kept: report.kept.map((kept) => kept.digest).join(",") || "none"
      }))
      return report
    })

    return yield* (yield* SeedLock).withLock(change, lockOptions(operation, options)).pipe(
      Effect.annotateLogs("request_id", requestId)
    )
  }
)
