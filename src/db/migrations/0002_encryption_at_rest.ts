/**
 * Encryption at rest in the shape of Coder's database encryption (issue 13): the key registry
 * `dbcrypt_keys`, `ai_providers.settings` as text (the JSON text, or its ciphertext) and a key id beside
 * each encrypted column. A NULL key id is plaintext, so existing rows keep their values as they are.
 * The key id columns reference the active digest: revoking a key (moving its digest to
 * `revoked_key_digest`) fails while any value is still encrypted with it.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // `if not exists`: a database that Coder's server also uses already has its registry.
  yield* sql`
    create table if not exists dbcrypt_keys (
      number int primary key,
      active_key_digest text unique null,
      revoked_key_digest text unique null,
      created_at timestamptz not null default now(),
      revoked_at timestamptz null,
      test text not null
    )`
  yield* sql`
    alter table ai_providers
      alter column settings type text using settings::text,
      add column settings_key_id text null references dbcrypt_keys (active_key_digest)`
  yield* sql`
    alter table ai_provider_keys
      add column api_key_key_id text null references dbcrypt_keys (active_key_digest)`
})
