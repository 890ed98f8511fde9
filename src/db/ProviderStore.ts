/**
 * The SQL edge for providers, keys and audit rows. Every method is one statement whatever the number
 * of rows: batches travel as jsonb parameters expanded by `jsonb_to_recordset`, which also keeps clear
 * of PostgreSQL's 65,535-parameter limit.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Option, Redacted, Schema } from "effect"
import type { AuditRow } from "../audit/Audit.js"
import type { Insertions } from "../audit/Insertions.js"
import type { Provider } from "../core/Provider.js"
import { isValidProviderName, providerNameRule } from "../core/ProviderName.js"
import { type DecryptionFailed, Encryption } from "../crypto/Encryption.js"
import { ConstraintViolation } from "./ConstraintViolation.js"
import { DatabaseError, pgErrorFields } from "./DatabaseError.js"
import {
  failingPaths,
  type NewKeyRow,
  type NewProviderRow,
  ProviderRow,
  settingsText,
  toStoredRow
} from "./ProviderRows.js"
import type { LockedRead } from "./SeedLock.js"

export type StoreError = DatabaseError | ConstraintViolation | DecryptionFailed

/** A key row that was deleted, for its audit entry. */
export interface DeletedKey {
  readonly id: string
  readonly api_key: Redacted.Redacted<string>
}

/** Unique and CHECK violations on `ai_providers.name` say which provider and which rule. */
const constraintViolation = (error: SqlError, rows: ReadonlyArray<NewProviderRow>): ConstraintViolation | undefined => {
  const pg = pgErrorFields(error)
  if (pg.code === "23505" && pg.constraint === "ai_providers_name_key") {
    // The detail quotes the name only: `Key (name)=(openai) already exists.`
    const provider = /\(name\)=\((.*)\)/.exec(pg.detail ?? "")?.[1] ?? "(unknown)"
    return new ConstraintViolation({
      provider,
      constraint: pg.constraint,
      rule: "provider names are unique, and a soft-deleted provider keeps its name reserved"
    })
  }
  if (pg.code === "23514" && pg.constraint === "ai_providers_name_format") {
    const provider = rows.find((row) => !isValidProviderName(row.provider.name))?.provider.name ?? "(unknown)"
    return new ConstraintViolation({
      provider,
      constraint: pg.constraint,
      rule: `provider names must match ${providerNameRule}`
    })
  }
  return undefined
}

const failWith = (step: string, rows: ReadonlyArray<NewProviderRow> = []) => (error: SqlError) =>
  Effect.fail(constraintViolation(error, rows) ?? DatabaseError.fromSqlError(step)(error))

const decodeProviderRows = Schema.decodeUnknown(Schema.Array(ProviderRow))

/**
 * Every provider with its keys (oldest first), soft-deleted and disabled ones included, in name order, as
 * one JSON array: a read that goes in the seed lock's probe (`SeedLock.withLockReading`), one statement.
 */
export const providersRead: LockedRead = {
  statement: `select coalesce(json_agg(r order by r.name), '[]') as providers from (
      select p.id, p.type::text as type, p.name, p.display_name, p.enabled, p.deleted, p.base_url,
        p.settings, p.settings_key_id, coalesce(k.keys, '{}') as keys, coalesce(k.key_ids, '{}') as key_ids
      from ai_providers p
      left join lateral (
        select array_agg(api_key order by created_at, id) as keys,
          array_agg(api_key_key_id order by created_at, id) as key_ids
        from ai_provider_keys where provider_id = p.id
      ) k on true
    ) r`,
  step: "load providers"
}

/** The rows as the jsonb parameter of one statement; secrets revealed (or sealed) for the statement only. */
const asJson = (rows: ReadonlyArray<object>) => JSON.stringify(rows)

/**
 * A timestamp as ISO text, converted once per instant: the rows of a batch share their stamp's one Date,
 * and `Date.toJSON` on every row was half the time of serializing a batch.
 */
const isoText = (() => {
  let instant: Date | undefined
  let text = ""
  return (date: Date): string => {
    if (date !== instant) [instant, text] = [date, date.toISOString()]
    return text
  }
})()

const auditRecord = (row: AuditRow) => ({ ...row, time: isoText(row.time) })

export const make = (sql: SqlClient.SqlClient, encryption: typeof Encryption.Service) => {
  /** The settings column and its key id: the JSON sealed with the primary key, NULL without settings. */
  const sealedSettings = (provider: Provider) => {
    const text = settingsText(provider.bedrock)
    const sealed = text === null ? null : encryption.encrypt(text)
    return { settings: sealed?.value ?? null, settings_key_id: sealed?.keyId ?? null }
  }

  const providerRecord = (row: NewProviderRow) => ({
    id: row.id,
    type: row.provider.type,
    name: row.provider.name,
    base_url: row.provider.base_url,
    ...sealedSettings(row.provider),
    display_name: row.display_name,
    enabled: row.enabled,
    created_at: isoText(row.created_at)
  })

  const keyRecord = (row: NewKeyRow) => {
    const sealed = encryption.encrypt(Redacted.value(row.api_key))
    return { ...row, api_key: sealed.value, api_key_key_id: sealed.keyId, created_at: isoText(row.created_at) }
  }

  /** The stored providers from the value of `providersRead` (read with the seed lock's probe, or alone). */
  const loadFrom = (providers: unknown) =>
    decodeProviderRows(providers).pipe(
      Effect.mapError((error) =>
        new DatabaseError({
          step: providersRead.step,
          reason: `the stored providers do not have the expected shape at ${
            failingPaths(error, "(the list)").join(", ")
          }`
        })
      ),
      Effect.map((decoded) => decoded.map(toStoredRow(encryption))),
      Effect.withSpan("ProviderStore.load")
    )

  const load = sql.unsafe<{ readonly providers: unknown }>(providersRead.statement).pipe(
    Effect.catchTag("SqlError", failWith(providersRead.step)),
    Effect.flatMap((rows) => loadFrom(rows[0]?.providers))
  )

  const providersInsert = (rows: ReadonlyArray<NewProviderRow>) =>
    sql`insert into ai_providers
        (id, type, name, display_name, enabled, base_url, settings, settings_key_id, created_at, updated_at)
      select id, type, name, display_name, enabled, base_url, settings, settings_key_id, created_at, created_at
      from jsonb_to_recordset(${asJson(rows.map(providerRecord))}::jsonb) as r(
        id uuid, type ai_provider_type, name text, display_name text, enabled boolean, base_url text,
        settings text, settings_key_id text, created_at timestamptz)`

  const keysInsert = (records: ReadonlyArray<ReturnType<typeof keyRecord>>) =>
    sql`insert into ai_provider_keys (id, provider_id, api_key, api_key_key_id, created_at, updated_at)
      select id, provider_id, api_key, api_key_key_id, created_at, created_at
      from jsonb_to_recordset(${asJson(records)}::jsonb) as r(
        id uuid, provider_id uuid, api_key text, api_key_key_id text, created_at timestamptz)`

  const auditInsert = (rows: ReadonlyArray<AuditRow>) =>
    sql`insert into audit_logs
        (id, time, user_id, action, resource_type, resource_id, resource_target, diff, request_id)
      select id, time, user_id, action, resource_type, resource_id, resource_target, diff, request_id
      from jsonb_to_recordset(${asJson(rows.map(auditRecord))}::jsonb) as r(
        id uuid, time timestamptz, user_id uuid, action text, resource_type text, resource_id uuid,
        resource_target text, diff jsonb, request_id uuid)`

  /**
   * Providers, keys and audit rows in one statement (all but the last insert as CTEs), leaving out what
   * is empty; nothing is sent when all three are.
   */
  const write = (
    providers: ReadonlyArray<NewProviderRow>,
    keys: ReadonlyArray<NewKeyRow>,
    audit: ReadonlyArray<AuditRow>
  ): Effect.Effect<unknown, StoreError> => {
    const inserts = [
      ...(providers.length === 0 ? [] : [providersInsert(providers)]),
      ...(keys.length === 0 ? [] : [keysInsert(keys.map(keyRecord))]),
      ...(audit.length === 0 ? [] : [auditInsert(audit)])
    ]
    const last = inserts.pop()
    if (last === undefined) return Effect.void
    const statement = inserts.length === 0
      ? last
      : sql`with ${sql.csv(inserts.map((insert, i) => sql`${sql(`write_${i}`)} as (${insert})`))} ${last}`
    return statement.pipe(Effect.catchTag("SqlError", failWith("insert providers, keys and audit rows", providers)))
  }

  /**
   * The statements that write the batches, one per batch, each built (rows made, keys sealed, JSON
   * serialized) only when its thunk is called, which `pipelined` does while the server runs the statement
   * before. Sealed keys (AES-GCM per key, most of what encryption adds to a first seed) go one statement
   * later, sealed while the server wrote their batch: each statement writes its batch's providers and audit
   * rows and the keys of the batch before, and the last one its own keys too (a statement of their own
   * cost a 1,000-provider first seed 1-2 ms more than sealing them along).
   */
  const statementsOf = (batches: Iterable<() => Insertions>) => {
    const sealing = Option.isSome(encryption.primaryDigest)
    const builds = Array.from(batches)
    let heldKeys: ReadonlyArray<NewKeyRow> = []
    return builds.map((batch, i) => () => {
      const rows = batch()
      const last = i === builds.length - 1
      const keys = sealing ? (last ? [...heldKeys, ...rows.keys] : heldKeys) : rows.keys
      heldKeys = sealing ? rows.keys : []
      return write(rows.providers, keys, rows.audit)
    })
  }

  /**
   * Runs statements one after another, building each while the server runs the one before: the program's
   * own work overlaps the server's instead of adding to it. One statement is in flight at a time, so the
   * first failure is the one reported and nothing is sent after it; an interruption waits for the
   * statement in flight to be cancelled before the transaction rolls back.
   */
  const pipelined = (builds: Iterable<() => Effect.Effect<unknown, StoreError>>) =>
    Effect.suspend(() => {
      const iterator = builds[Symbol.iterator]()
      const buildNext = () => {
        const next = iterator.next()
        return next.done === true ? undefined : next.value()
      }
      const from = (statement: Effect.Effect<unknown, StoreError> | undefined): Effect.Effect<void, StoreError> =>
        statement === undefined ? Effect.void : Effect.flatMap(
          // The statement's fiber starts first and goes out; the next one is built while it runs.
          Effect.all([statement, Effect.sync(buildNext)], { concurrency: 2 }),
          ([, following]) => from(following)
        )
      return from(buildNext())
    })

  /** Providers, keys and audit rows of one batch. Nothing is sent for an empty batch. */
  const insert = Effect.fn("ProviderStore.insert")(function*(rows: Insertions) {
    yield* pipelined(statementsOf([() => rows]))
  })

  /**
   * Batch after batch (each made by its thunk only when its turn comes), every one built while the server
   * writes the one before: a first seed of thousands of providers sends them a part at a time.
   */
  const insertAll = Effect.fn("ProviderStore.insertAll")(function*(batches: Iterable<() => Insertions>) {
    yield* pipelined(statementsOf(batches))
  })

  /** Rewrites the canonical fields of one provider (adopting the environment's). */
  const updateConfiguration = Effect.fn("ProviderStore.updateConfiguration")(
    function*(id: string, provider: Provider, at: Date) {
      const { settings, settings_key_id } = sealedSettings(provider)
      yield* sql`
        update ai_providers set type = ${provider.type}::ai_provider_type, base_url = ${provider.base_url},
          settings = ${settings}, settings_key_id = ${settings_key_id}, updated_at = ${at}
        where id = ${id}`.pipe(Effect.catchTag("SqlError", failWith("update provider")))
    }
  )

  /** Soft delete (`deleted`, not `enabled`) or restore (live and enabled) of one provider. */
  const setDeleted = Effect.fn("ProviderStore.setDeleted")(function*(id: string, deleted: boolean, at: Date) {
    yield* sql`update ai_providers set deleted = ${deleted}, enabled = ${!deleted}, updated_at = ${at} where id = ${id}`
      .pipe(Effect.catchTag("SqlError", failWith(deleted ? "delete provider" : "restore provider")))
  })

  /** Deletes a provider's keys and returns them (decrypted), for their audit entries. */
  const deleteKeys = Effect.fn("ProviderStore.deleteKeys")(function*(provider: { id: string; name: string }) {
    const rows = yield* sql<{ id: string; api_key: string; api_key_key_id: string | null }>`
      delete from ai_provider_keys where provider_id = ${provider.id} returning id, api_key, api_key_key_id`.pipe(
      Effect.catchTag("SqlError", failWith("delete keys"))
    )
    const deleted: Array<DeletedKey> = []
    for (const row of rows) {
      const apiKey = yield* encryption.decrypt(row.api_key, row.api_key_key_id, {
        provider: provider.name,
        column: "ai_provider_keys.api_key"
      })
      deleted.push({ id: row.id, api_key: Redacted.make(apiKey) })
    }
    return deleted
  })

  const insertAudit = (rows: ReadonlyArray<AuditRow>) => insert({ providers: [], keys: [], audit: rows })

  return { load, loadFrom, insert, insertAll, insertAudit, updateConfiguration, setDeleted, deleteKeys }
}

/**
 * Requires the SQL client and the encryption keys: every value of an encrypted column is sealed on its way
 * in and opened on its way out, here and nowhere else. One transaction around its methods is the caller's
 * (see `SeedLock`).
 */
export class ProviderStore extends Effect.Service<ProviderStore>()("ai-provider-seed/ProviderStore", {
  effect: Effect.all([SqlClient.SqlClient, Encryption]).pipe(Effect.map(([sql, encryption]) => make(sql, encryption)))
}) {}
