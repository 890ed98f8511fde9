/**
 * The SQL edge for providers, keys and audit rows. Every method is one statement whatever the number
 * of rows: batches travel as a single jsonb parameter expanded by `jsonb_to_recordset`, which also
 * keeps clear of PostgreSQL's 65,535-parameter limit.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Layer, ParseResult, Schema } from "effect"
import { BedrockSettingsBlob } from "../core/Canonical.js"
import { InvalidStoredSettings } from "../core/Errors.js"
import { isValidProviderName, providerNameRule } from "../core/ProviderName.js"
import { ConstraintViolation } from "./ConstraintViolation.js"
import { DatabaseError } from "./DatabaseError.js"
import {
  type AuditRow,
  type NewKeyRow,
  type NewProviderRow,
  revealKey,
  StoredKeyRow,
  StoredProviderRow
} from "./ProviderRows.js"

export type StoreError = DatabaseError | InvalidStoredSettings | ConstraintViolation

export type ConfigurationUpdate = Pick<NewProviderRow, "id" | "type" | "base_url" | "settings" | "updated_at">

export class ProviderStore extends Context.Tag("ai-provider-seed/ProviderStore")<ProviderStore, {
  /** Every provider, soft-deleted and disabled included, in name order. */
  readonly loadProviders: Effect.Effect<ReadonlyArray<StoredProviderRow>, StoreError>
  /** The keys of the given providers, oldest first. */
  readonly loadKeys: (providerIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<StoredKeyRow>, StoreError>
  readonly insertProviders: (rows: ReadonlyArray<NewProviderRow>) => Effect.Effect<void, StoreError>
  readonly insertKeys: (rows: ReadonlyArray<NewKeyRow>) => Effect.Effect<void, StoreError>
  readonly insertAuditRows: (rows: ReadonlyArray<AuditRow>) => Effect.Effect<void, StoreError>
  /** Rewrites the canonical fields of one provider (adopting the environment's). */
  readonly updateConfiguration: (row: ConfigurationUpdate) => Effect.Effect<void, StoreError>
  /** Soft delete (`deleted`, not `enabled`) or restore (live and enabled) of one provider. */
  readonly setDeleted: (id: string, deleted: boolean, at: Date) => Effect.Effect<void, StoreError>
  readonly deleteKeys: (providerId: string) => Effect.Effect<void, StoreError>
}>() {
  static readonly layer = Layer.effect(ProviderStore, Effect.map(SqlClient.SqlClient, (sql) => make(sql)))
}

/** `settings` is stored as JSON text (migration 0002), decoded here into the blob. */
const StoredProviderRowFromText = Schema.Struct({
  ...StoredProviderRow.fields,
  settings: Schema.NullOr(Schema.parseJson(BedrockSettingsBlob))
})
const settingsText = (settings: NewProviderRow["settings"]) => settings === null ? null : JSON.stringify(settings)
const withSettingsText = (row: NewProviderRow) => ({ ...row, settings: settingsText(row.settings) })

const decodeProvider = Schema.decodeUnknown(StoredProviderRowFromText, { errors: "all" })
const decodeKeys = Schema.decodeUnknown(Schema.Array(StoredKeyRow))

/** A row that does not decode names the provider and the paths, never the values (they may be secrets). */
const decodeProviderRow = (row: { readonly name?: unknown }) =>
  decodeProvider(row).pipe(Effect.mapError((error) =>
    new InvalidStoredSettings({
      provider: String(row.name),
      paths: ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => issue.path.join(".") || "(row)")
    })
  ))

interface PgErrorFields {
  readonly code?: string
  readonly constraint?: string
  readonly detail?: string
}

/** Unique and CHECK violations on `ai_providers.name` say which provider and which rule. */
const constraintViolation = (error: SqlError, rows: ReadonlyArray<NewProviderRow>): ConstraintViolation | undefined => {
  const pg = (typeof error.cause === "object" && error.cause !== null ? error.cause : {}) as PgErrorFields
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
    const provider = rows.find((row) => !isValidProviderName(row.name))?.name ?? "(unknown)"
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

export const make = (sql: SqlClient.SqlClient): typeof ProviderStore.Service => {
  const asJson = (rows: ReadonlyArray<object>) => JSON.stringify(rows)

  const loadProviders = sql`
    select id, type, name, display_name, enabled, deleted, base_url, settings, created_at, updated_at
    from ai_providers order by name`.pipe(
    Effect.catchTag("SqlError", failWith("load providers")),
    Effect.flatMap(Effect.forEach(decodeProviderRow)),
    Effect.withSpan("ProviderStore.loadProviders")
  )

  const loadKeys = Effect.fn("ProviderStore.loadKeys")(function*(providerIds: ReadonlyArray<string>) {
    if (providerIds.length === 0) return []
    const rows = yield* sql`
      select id, provider_id, api_key from ai_provider_keys
      where provider_id = any(${asArray(providerIds)}::uuid[])
      order by created_at, id`.pipe(Effect.catchTag("SqlError", failWith("load keys")))
    return yield* decodeKeys(rows).pipe(
      Effect.mapError((error) => new DatabaseError({ step: "load keys", reason: error.message }))
    )
  })

  const insertProviders = Effect.fn("ProviderStore.insertProviders")(function*(rows: ReadonlyArray<NewProviderRow>) {
    if (rows.length === 0) return
    yield* sql`
      insert into ai_providers
        (id, type, name, display_name, enabled, base_url, settings, created_at, updated_at)
      select id, type, name, display_name, enabled, base_url, settings, created_at, updated_at
      from jsonb_to_recordset(${asJson(rows.map(withSettingsText))}::jsonb) as r(
        id uuid, type ai_provider_type, name text, display_name text, enabled boolean, base_url text,
        settings text, created_at timestamptz, updated_at timestamptz)`.pipe(
      Effect.catchTag("SqlError", failWith("insert providers", rows))
    )
  })

  const insertKeys = Effect.fn("ProviderStore.insertKeys")(function*(rows: ReadonlyArray<NewKeyRow>) {
    if (rows.length === 0) return
    yield* sql`
      insert into ai_provider_keys (id, provider_id, api_key, created_at, updated_at)
      select id, provider_id, api_key, created_at, updated_at
      from jsonb_to_recordset(${asJson(rows.map(revealKey))}::jsonb) as r(
        id uuid, provider_id uuid, api_key text, created_at timestamptz, updated_at timestamptz)`.pipe(
      Effect.catchTag("SqlError", failWith("insert keys"))
    )
  })

  const insertAuditRows = Effect.fn("ProviderStore.insertAuditRows")(function*(rows: ReadonlyArray<AuditRow>) {
    if (rows.length === 0) return
    yield* sql`
      insert into audit_logs
        (id, time, user_id, action, resource_type, resource_id, resource_target, diff, request_id)
      select id, time, user_id, action, resource_type, resource_id, resource_target, diff, request_id
      from jsonb_to_recordset(${asJson(rows)}::jsonb) as r(
        id uuid, time timestamptz, user_id uuid, action text, resource_type text, resource_id uuid,
        resource_target text, diff jsonb, request_id uuid)`.pipe(
      Effect.catchTag("SqlError", failWith("insert audit rows"))
    )
  })

  const updateConfiguration = Effect.fn("ProviderStore.updateConfiguration")(function*(row: ConfigurationUpdate) {
    yield* sql`
      update ai_providers set type = ${row.type}::ai_provider_type, base_url = ${row.base_url},
        settings = ${settingsText(row.settings)}, updated_at = ${row.updated_at}
      where id = ${row.id}`.pipe(Effect.catchTag("SqlError", failWith("update provider")))
  })

  const setDeleted = Effect.fn("ProviderStore.setDeleted")(function*(id: string, deleted: boolean, at: Date) {
    yield* sql`update ai_providers set deleted = ${deleted}, enabled = ${!deleted}, updated_at = ${at} where id = ${id}`
      .pipe(Effect.catchTag("SqlError", failWith(deleted ? "delete provider" : "restore provider")))
  })

  const deleteKeys = Effect.fn("ProviderStore.deleteKeys")(function*(providerId: string) {
    yield* sql`delete from ai_provider_keys where provider_id = ${providerId}`.pipe(
      Effect.catchTag("SqlError", failWith("delete keys"))
    )
  })

  return {
    loadProviders,
    loadKeys,
    insertProviders,
    insertKeys,
    insertAuditRows,
    updateConfiguration,
    setDeleted,
    deleteKeys
  }
}

/** A PostgreSQL array literal travels as one parameter, however many ids it holds. */
const asArray = (ids: ReadonlyArray<string>) => `{${ids.join(",")}}`
