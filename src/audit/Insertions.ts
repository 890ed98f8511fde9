/** New provider and key rows with the audit entries that go with them, for the seed and `providers adopt`. */
import type { Redacted } from "effect"
import type { Stamp } from "../core/Ids.js"
import type { Provider } from "../core/Provider.js"
import { type NewKeyRow, newKeyRows, type NewProviderRow, newProviderRow } from "../db/ProviderRows.js"
import { auditedConfiguration, auditEntry, type AuditRow, keyAuditEntry } from "./Audit.js"

export interface Insertions {
  readonly providers: ReadonlyArray<NewProviderRow>
  readonly keys: ReadonlyArray<NewKeyRow>
  readonly audit: ReadonlyArray<AuditRow>
}

/** New key rows for a stored or new provider, each with its `create` audit entry (masked). */
export const keyInsertions = (
  stamp: Stamp,
  provider: { readonly id: string; readonly name: string },
  keys: ReadonlyArray<Redacted.Redacted<string>>,
  requestId: string
) => {
  const rows = newKeyRows(stamp, provider.id, keys)
  return { rows, audit: rows.map((key) => keyAuditEntry(stamp, requestId, "create", provider.name, key)) }
}

/** Rows for missing providers and their keys, and a `create` audit entry for each row. */
export const insertionsFor = (stamp: Stamp, providers: ReadonlyArray<Provider>, requestId: string): Insertions => {
  const rows = { providers: [] as Array<NewProviderRow>, keys: [] as Array<NewKeyRow>, audit: [] as Array<AuditRow> }
  for (const provider of providers) {
    const row = newProviderRow(stamp, provider)
    rows.providers.push(row)
    rows.audit.push(auditEntry(stamp, requestId, {
      action: "create",
      resource_type: "ai_provider",
      resource_id: row.id,
      resource_target: provider.name,
      diff: {
        name: provider.name,
        display_name: row.display_name,
        enabled: row.enabled,
        ...auditedConfiguration(provider)
      }
    }))
    const keys = keyInsertions(stamp, { id: row.id, name: provider.name }, provider.keys, requestId)
    rows.keys.push(...keys.rows)
    rows.audit.push(...keys.audit)
  }
  return rows
}
