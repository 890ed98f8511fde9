/**
 * Audit entries (SPEC §4): by the system actor, at the run's time, one request id per run, and every
 * value shown through the masked view, so no secret reaches `audit_logs`.
 */
import type { Redacted } from "effect"
import type { Stamp } from "../core/Ids.js"
import { maskSecret } from "../core/Mask.js"
import { maskProvider } from "../core/MaskedProvider.js"
import type { Provider } from "../core/Provider.js"

/** The actor of every audit entry the program writes: the system, not a user. */
export const SystemActorId = "00000000-0000-0000-0000-000000000000"

export type AuditAction = "create" | "write" | "delete"
export type AuditResourceType = "ai_provider" | "ai_provider_key"

/** An `audit_logs` row. `diff` holds the new (or old and new) values, masked. */
export interface AuditRow {
  readonly id: string
  readonly time: Date
  readonly user_id: string
  readonly action: AuditAction
  readonly resource_type: AuditResourceType
  readonly resource_id: string
  readonly resource_target: string
  readonly diff: Readonly<Record<string, unknown>>
  readonly request_id: string
}

export type AuditedChange = Pick<AuditRow, "action" | "resource_type" | "resource_id" | "resource_target" | "diff">

/** An audit entry for a change, by the system actor, at the stamp's time. */
export const auditEntry = (stamp: Stamp, requestId: string, change: AuditedChange): AuditRow => ({
  id: stamp.uuid(),
  time: stamp.now,
  user_id: SystemActorId,
  request_id: requestId,
  ...change
})

/** What an audit entry shows of a provider's configuration: the masked view without the keys. */
export const auditedConfiguration = (provider: Provider) => {
  const { keys: _keys, name: _name, ...configuration } = maskProvider(provider)
  return configuration
}

/** The audit entry of a key row created or deleted: its provider and the masked key. */
export const keyAuditEntry = (
  stamp: Stamp,
  requestId: string,
  action: "create" | "delete",
  provider: string,
  key: { readonly id: string; readonly api_key: Redacted.Redacted<string> }
) =>
  auditEntry(stamp, requestId, {
    action,
    resource_type: "ai_provider_key",
    resource_id: key.id,
    resource_target: provider,
    diff: { provider, api_key: maskSecret(key.api_key) }
  })
