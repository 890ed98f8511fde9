/** Rows for store tests, with fresh ids and fixed timestamps. */
import { Redacted } from "effect"
import type { AuditRow } from "../../src/audit/Audit.js"
import { SystemActorId } from "../../src/audit/Audit.js"
import type { Insertions } from "../../src/audit/Insertions.js"
import type { Provider } from "../../src/core/Provider.js"
import type { NewKeyRow, NewProviderRow } from "../../src/db/ProviderRows.js"

const at = new Date("2026-01-02T03:04:05.000Z")

export const provider = (
  name: string,
  overrides: Partial<Provider> = {},
  row: Partial<Omit<NewProviderRow, "provider">> = {}
): NewProviderRow => ({
  id: crypto.randomUUID(),
  provider: { name, type: "openai", base_url: "https://api.openai.com/v1/", keys: [], bedrock: null, ...overrides },
  display_name: name,
  enabled: true,
  created_at: at,
  ...row
})

export const key = (providerId: string, secret: string): NewKeyRow => ({
  id: crypto.randomUUID(),
  provider_id: providerId,
  api_key: Redacted.make(secret),
  created_at: at
})

export const audit = (target: NewProviderRow): AuditRow => ({
  id: crypto.randomUUID(),
  time: at,
  user_id: SystemActorId,
  action: "create",
  resource_type: "ai_provider",
  resource_id: target.id,
  resource_target: target.provider.name,
  diff: { name: target.provider.name },
  request_id: "11111111-1111-1111-1111-111111111111"
})

/** Provider rows alone, as one insert. */
export const providersOnly = (providers: ReadonlyArray<NewProviderRow>): Insertions => ({
  providers,
  keys: [],
  audit: []
})
