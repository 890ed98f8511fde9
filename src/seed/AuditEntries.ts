/**
 * Rows to write for providers and keys, and the audit entries that go with them: by the system actor,
 * at the Clock's time, one request id per run, every secret masked.
 */
import { Clock, Effect, Redacted } from "effect"
import { settingsBlob } from "../core/Canonical.js"
import type { DesiredProvider } from "../core/DesiredProvider.js"
import { mask } from "../core/Mask.js"
import { maskUrl } from "../core/UrlMask.js"
import type { AuditRow, NewKeyRow, NewProviderRow } from "../db/ProviderRows.js"
import { Ids } from "./Ids.js"

/** The actor of every audit entry the seed writes: the system, not a user. */
export const SystemActorId = "00000000-0000-0000-0000-000000000000"

export interface Insertions {
  readonly providers: ReadonlyArray<NewProviderRow>
  readonly keys: ReadonlyArray<NewKeyRow>
  readonly audit: ReadonlyArray<AuditRow>
}

export const maskedSettings = (settings: NewProviderRow["settings"]) =>
  settings === null ? null : {
    ...settings,
    ...(settings.base_url === undefined ? {} : { base_url: maskUrl(settings.base_url) }),
    ...(settings.access_key === undefined ? {} : { access_key: mask(settings.access_key) }),
    ...(settings.access_key_secret === undefined ? {} : { access_key_secret: mask(settings.access_key_secret) })
  }

/** What an audit entry shows of a provider's configuration. */
export const auditedConfiguration = (row: Pick<NewProviderRow, "type" | "base_url" | "settings">) => ({
  type: row.type,
  base_url: maskUrl(row.base_url),
  settings: maskedSettings(row.settings)
})

export type AuditedChange = Pick<AuditRow, "action" | "resource_type" | "resource_id" | "resource_target" | "diff">

/** An audit entry for a change, by the system actor, now. */
export const auditEntry = Effect.fn("AuditEntries.auditEntry")(function*(requestId: string, change: AuditedChange) {
  const id = yield* (yield* Ids).uuid
  const time = new Date(yield* Clock.currentTimeMillis)
  return { id, time, user_id: SystemActorId, request_id: requestId, ...change } satisfies AuditRow
})

/** New key rows for a provider, with their `create` audit entries (keys masked). */
export const keyInsertions = Effect.fn("AuditEntries.keyInsertions")(function*(
  provider: { readonly id: string; readonly name: string },
  keys: ReadonlyArray<Redacted.Redacted<string>>,
  requestId: string
) {
  const ids = yield* Ids
  const now = new Date(yield* Clock.currentTimeMillis)
  const rows: Array<NewKeyRow> = []
  const audit: Array<AuditRow> = []
  for (const apiKey of keys) {
    const key: NewKeyRow = {
      id: yield* ids.uuid,
      provider_id: provider.id,
      api_key: apiKey,
      created_at: now,
      updated_at: now
    }
    rows.push(key)
    audit.push(
      yield* auditEntry(requestId, {
        action: "create",
        resource_type: "ai_provider_key",
        resource_id: key.id,
        resource_target: provider.name,
        diff: { provider: provider.name, api_key: mask(Redacted.value(apiKey)) }
      })
    )
  }
  return { rows, audit }
})

/** Provider rows for missing providers, their keys, and an audit entry for each row. */
export const insertionsFor = Effect.fn("AuditEntries.insertionsFor")(function*(
  providers: ReadonlyArray<DesiredProvider>,
  requestId: string
) {
  const ids = yield* Ids
  const now = new Date(yield* Clock.currentTimeMillis)
  const rows = { providers: [] as Array<NewProviderRow>, keys: [] as Array<NewKeyRow>, audit: [] as Array<AuditRow> }
  for (const provider of providers) {
    const row: NewProviderRow = {
      id: yield* ids.uuid,
      type: provider.type,
      name: provider.name,
      display_name: provider.name,
      enabled: true,
      base_url: provider.base_url,
      settings: settingsBlob(provider),
      created_at: now,
      updated_at: now
    }
    rows.providers.push(row)
    rows.audit.push(
      yield* auditEntry(requestId, {
        action: "create",
        resource_type: "ai_provider",
        resource_id: row.id,
        resource_target: row.name,
        diff: { name: row.name, display_name: row.display_name, enabled: row.enabled, ...auditedConfiguration(row) }
      })
    )
    const keys = yield* keyInsertions(row, provider.keys, requestId)
    rows.keys.push(...keys.rows)
    rows.audit.push(...keys.audit)
  }
  return rows satisfies Insertions
})
