/**
 * The SQL edge for providers, keys and audit rows. Every method is one statement whatever the number
 * of rows: batches travel as jsonb parameters expanded by `jsonb_to_recordset`, which also keeps clear
 * of PostgreSQL's 65,535-parameter limit.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Redacted, Schema } from "effect"
import type { AuditRow } from "../audit/Audit.js"
import type { Insertions } from "../audit/Insertions.js"
import type { Provider, StoredRow } from "../core/Provider.js"
import { isValidProviderName, providerNameRule } from "../core/ProviderName.js"
import { ConstraintViolation } from "./ConstraintViolation.js"
import { DatabaseError, pgErrorFields } from "./DatabaseError.js"
import { type NewKeyRow, type NewProviderRow, ProviderRow, settingsColumn, toStoredRow } from "./ProviderRows.js"

export type StoreError = DatabaseError | ConstraintViolation

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

const decodeRows = Schema.decodeUnknown(Schema.Array(ProviderRow))

/** The rows as the jsonb parameter of one statement; secrets revealed for the statement only. */
const asJson = (rows: ReadonlyArray<object>) => JSON.stringify(rows)

const providerColumns = (provider: Provider) => ({
  type: provider.type,
  name: provider.name,
  base_url: provider.base_url,
  settings: settingsColumn(provider.bedrock)
})

const providerRecord = (row: NewProviderRow) => ({
  id: row.id,
  ...providerColumns(row.provider),
  display_name: row.display_name,
  enabled: row.enabled,
  created_at: row.created_at
})

const keyRecord = (row: NewKeyRow) => ({ ...row, api_key: Redacted.value(row.api_key) })

export const make = (sql: SqlClient.SqlClient) => {
  /** Every provider with its keys (oldest first), soft-deleted and disabled ones included, in name order. */
  const load = sql`
    select p.id, p.type::text as type, p.name, p.display_name, p.enabled, p.deleted, p.base_url, p.settings,
      coalesce(k.keys, '{}') as keys
    from ai_providers p
    left join lateral (
      select array_agg(api_key order by created_at, id) as keys from ai_provider_keys where provider_id = p.id
    ) k on true
    order by p.name`.pipe(
    Effect.catchTag("SqlError", failWith("load providers")),
    Effect.flatMap((rows) =>
      decodeRows(rows).pipe(
        Effect.mapError((error) => new DatabaseError({ step: "load providers", reason: error.message }))
      )
    ),
    Effect.map((rows): ReadonlyArray<StoredRow> => rows.map(toStoredRow)),
    Effect.withSpan("ProviderStore.load")
  )

  /** Providers, keys and audit rows in one statement: nothing is sent for an empty batch. */
  const insert = Effect.fn("ProviderStore.insert")(function*(rows: Insertions) {
    if (rows.providers.length === 0 && rows.keys.length === 0 && rows.audit.length === 0) return
    yield* sql`
      with providers as (
        insert into ai_providers
          (id, type, name, display_name, enabled, base_url, settings, created_at, updated_at)
        select id, type, name, display_name, enabled, base_url, settings, created_at, created_at
        from jsonb_to_recordset(${asJson(rows.providers.map(providerRecord))}::jsonb) as r(
          id uuid, type ai_provider_type, name text, display_name text, enabled boolean, base_url text,
          settings jsonb, created_at timestamptz)
      ), keys as (
        insert into ai_provider_keys (id, provider_id, api_key, created_at, updated_at)
        select id, provider_id, api_key, created_at, created_at
        from jsonb_to_recordset(${asJson(rows.keys.map(keyRecord))}::jsonb) as r(
          id uuid, provider_id uuid, api_key text, created_at timestamptz)
      )
      insert into audit_logs
        (id, time, user_id, action, resource_type, resource_id, resource_target, diff, request_id)
      select id, time, user_id, action, resource_type, resource_id, resource_target, diff, request_id
      from jsonb_to_recordset(${asJson(rows.audit)}::jsonb) as r(
        id uuid, time timestamptz, user_id uuid, action text, resource_type text, resource_id uuid,
        resource_target text, diff jsonb, request_id uuid)`.pipe(
      Effect.catchTag("SqlError", failWith("insert providers, keys and audit rows", rows.providers))
    )
  })

  /** Rewrites the canonical fields of one provider (adopting the environment's). */
  const updateConfiguration = Effect.fn("ProviderStore.updateConfiguration")(
    function*(id: string, provider: Provider, at: Date) {
      const columns = providerColumns(provider)
      yield* sql`
        update ai_providers set type = ${columns.type}::ai_provider_type, base_url = ${columns.base_url},
          settings = ${columns.settings === null ? null : JSON.stringify(columns.settings)}::jsonb,
          updated_at = ${at}
        where id = ${id}`.pipe(Effect.catchTag("SqlError", failWith("update provider")))
    }
  )

  /** Soft delete (`deleted`, not `enabled`) or restore (live and enabled) of one provider. */
  const setDeleted = Effect.fn("ProviderStore.setDeleted")(function*(id: string, deleted: boolean, at: Date) {
    yield* sql`update ai_providers set deleted = ${deleted}, enabled = ${!deleted}, updated_at = ${at} where id = ${id}`
      .pipe(Effect.catchTag("SqlError", failWith(deleted ? "delete provider" : "restore provider")))
  })

  /** Deletes a provider's keys and returns them, for their audit entries. */
  const deleteKeys = Effect.fn("ProviderStore.deleteKeys")(function*(providerId: string) {
    const rows = yield* sql<{ id: string; api_key: string }>`
      delete from ai_provider_keys where provider_id = ${providerId} returning id, api_key`.pipe(
      Effect.catchTag("SqlError", failWith("delete keys"))
    )
    return rows.map((row): DeletedKey => ({ id: row.id, api_key: Redacted.make(row.api_key) }))
  })

  const insertAudit = (rows: ReadonlyArray<AuditRow>) => insert({ providers: [], keys: [], audit: rows })

  return { load, insert, insertAudit, updateConfiguration, setDeleted, deleteKeys }
}

/** Requires the SQL client; one transaction around its methods is the caller's (see `SeedLock`). */
export class ProviderStore extends Effect.Service<ProviderStore>()("ai-provider-seed/ProviderStore", {
  effect: Effect.map(SqlClient.SqlClient, make)
}) {}
