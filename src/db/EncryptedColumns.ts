/**
 * Every encrypted column (issue 13), in the one list that `keys rotate`, `keys decrypt`, `keys delete` and
 * `keys status` walk. Each column has a sibling key id column referencing `dbcrypt_keys
 * (active_key_digest)`; a test compares this list with those foreign keys in a migrated database, so a
 * new encrypted column cannot be missed by one of the commands (a missed one would make the final
 * revocation fail, as it once did in the server's own rotation).
 */
import type { AuditResourceType } from "../audit/Audit.js"

export interface EncryptedColumn {
  /** `table.column`, as errors, reports and logs name it. */
  readonly name: string
  readonly table: string
  readonly column: string
  /** The digest of the key that encrypted the value; NULL for plaintext. */
  readonly keyId: string
  /** The column of `table` holding the owning provider's id (`ai_providers.id`): how a row names its provider. */
  readonly providerId: string
  /**
   * What `keys delete` does with a value whose key is lost: clear it (the column and its key id set to
   * NULL), or delete the whole row (when the column is required).
   */
  readonly whenLost: "clear" | "delete row"
  /** The audit entry's resource type for a row of `table` (its `resource_id` is the row's `id`). */
  readonly resourceType: AuditResourceType
}

export const encryptedColumns: ReadonlyArray<EncryptedColumn> = [
  {
    name: "ai_providers.settings",
    table: "ai_providers",
    column: "settings",
    keyId: "settings_key_id",
    providerId: "id",
    whenLost: "clear",
    resourceType: "ai_provider"
  },
  {
    name: "ai_provider_keys.api_key",
    table: "ai_provider_keys",
    column: "api_key",
    keyId: "api_key_key_id",
    providerId: "provider_id",
    whenLost: "delete row",
    resourceType: "ai_provider_key"
  }
]
