/**
 * Rows to write for the providers a run inserts: the provider, its keys, and one audit entry per
 * row, by the system actor, with every secret masked.
 */
import { Clock, Effect, Redacted } from "effect"
import { settingsBlob } from "../core/Canonical.js"
import type { DesiredProvider } from "../core/DesiredProvider.js"
import { mask } from "../core/Mask.js"
import type { AuditRow, NewKeyRow, NewProviderRow } from "../db/ProviderRows.js"
import { Ids } from "./Ids.js"

/** The actor of every audit entry the seed writes: the system, not a user. */
export const SystemActorId = "00000000-0000-0000-0000-000000000000"

export interface Insertions {
  readonly providers: ReadonlyArray<NewProviderRow>
  readonly keys: ReadonlyArray<NewKeyRow>
  readonly audit: ReadonlyArray<AuditRow>
}

const maskedSettings = (settings: NewProviderRow["settings"]) =>
  settings === null ? null : {
    ...settings,
    ...(settings.access_key === undefined ? {} : { access_key: mask(settings.access_key) }),
    ...(settings.access_key_secret === undefined ? {} : { access_key_secret: mask(settings.access_key_secret) })
  }

export const insertionsFor = Effect.fn("AuditEntries.insertionsFor")(function*(
  providers: ReadonlyArray<DesiredProvider>,
  requestId: string
) {
  const ids = yield* Ids
  const now = new Date(yield* Clock.currentTimeMillis)
  const rows = { providers: [] as Array<NewProviderRow>, keys: [] as Array<NewKeyRow>, audit: [] as Array<AuditRow> }
  const audit = (resource: Pick<AuditRow, "resource_type" | "resource_id" | "resource_target" | "diff">) =>
    Effect.map(ids.uuid, (id): AuditRow => ({
      id,
      time: now,
      user_id: SystemActorId,
      action: "create",
      request_id: requestId,
      ...resource
    }))

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
      yield* audit({
        resource_type: "ai_provider",
        resource_id: row.id,
        resource_target: row.name,
        diff: {
          name: row.name,
          display_name: row.display_name,
          type: row.type,
          enabled: row.enabled,
          base_url: row.base_url,
          settings: maskedSettings(row.settings)
        }
      })
    )
    for (const apiKey of provider.keys) {
      const key: NewKeyRow = {
        id: yield* ids.uuid,
        provider_id: row.id,
        api_key: apiKey,
        created_at: now,
        updated_at: now
      }
      rows.keys.push(key)
      rows.audit.push(
        yield* audit({
          resource_type: "ai_provider_key",
          resource_id: key.id,
          resource_target: row.name,
          diff: { provider: row.name, api_key: mask(Redacted.value(apiKey)) }
        })
      )
    }
  }
  return rows satisfies Insertions
})
