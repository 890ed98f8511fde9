/** The shapes of `ai_providers`, `ai_provider_keys` and `audit_logs` rows, as read and as written. */
import { Redacted, Schema } from "effect"
import { BedrockSettingsBlob } from "../core/Canonical.js"
import { ProviderType } from "../core/DesiredProvider.js"

/** A provider row as stored, soft-deleted and disabled ones included. */
export const StoredProviderRow = Schema.Struct({
  id: Schema.UUID,
  type: ProviderType,
  name: Schema.String,
  display_name: Schema.NullOr(Schema.String),
  enabled: Schema.Boolean,
  deleted: Schema.Boolean,
  base_url: Schema.String,
  settings: Schema.NullOr(BedrockSettingsBlob),
  created_at: Schema.DateFromSelf,
  updated_at: Schema.DateFromSelf
})
export type StoredProviderRow = typeof StoredProviderRow.Type

export const StoredKeyRow = Schema.Struct({
  id: Schema.UUID,
  provider_id: Schema.UUID,
  api_key: Schema.Redacted(Schema.String)
})
export type StoredKeyRow = typeof StoredKeyRow.Type

export interface NewProviderRow {
  readonly id: string
  readonly type: ProviderType
  readonly name: string
  readonly display_name: string | null
  readonly enabled: boolean
  readonly base_url: string
  readonly settings: BedrockSettingsBlob | null
  readonly created_at: Date
  readonly updated_at: Date
}

export interface NewKeyRow {
  readonly id: string
  readonly provider_id: string
  readonly api_key: Redacted.Redacted<string>
  readonly created_at: Date
  readonly updated_at: Date
}

export type AuditAction = "create" | "write" | "delete"
export type AuditResourceType = "ai_provider" | "ai_provider_key"

/** An audit entry. `diff` holds the new values with every secret already masked. */
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

/** The plaintext key, for the one place that must write it: the insert statement's parameter. */
export const revealKey = (row: NewKeyRow) => ({ ...row, api_key: Redacted.value(row.api_key) })
