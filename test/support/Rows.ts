/** Rows for store tests, with fresh ids and fixed timestamps. */
import { Redacted } from "effect"
import type { AuditRow, NewKeyRow, NewProviderRow } from "../../src/db/ProviderRows.js"

const at = new Date("2026-01-02T03:04:05.000Z")

export const provider = (name: string, overrides: Partial<NewProviderRow> = {}): NewProviderRow => ({
  id: crypto.randomUUID(),
  type: "openai",
  name,
  display_name: name,
  enabled: true,
  base_url: "https://api.openai.com/v1/",
  settings: null,
  created_at: at,
  updated_at: at,
  ...overrides
})

export const key = (providerId: string, secret: string): NewKeyRow => ({
  id: crypto.randomUUID(),
  provider_id: providerId,
  api_key: Redacted.make(secret),
  created_at: at,
  updated_at: at
})

export const audit = (target: NewProviderRow): AuditRow => ({
  id: crypto.randomUUID(),
  time: at,
  user_id: "00000000-0000-0000-0000-000000000000",
  action: "create",
  resource_type: "ai_provider",
  resource_id: target.id,
  resource_target: target.name,
  diff: { name: target.name },
  request_id: "11111111-1111-1111-1111-111111111111"
})
