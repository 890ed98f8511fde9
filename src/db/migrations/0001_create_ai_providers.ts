/** The schema of SPEC §4: providers, their keys, and the audit log. */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`create type ai_provider_type as enum ('openai', 'anthropic')`
  yield* sql`
    create table ai_providers (
      id uuid primary key,
      type ai_provider_type not null,
      name text not null constraint ai_providers_name_key unique
        constraint ai_providers_name_format check (name ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and char_length(name) <= 63),
      display_name text null,
      enabled boolean not null default true,
      deleted boolean not null default false,
      base_url text not null default '',
      settings jsonb null,
      created_at timestamptz not null,
      updated_at timestamptz not null
    )`
  yield* sql`
    create table ai_provider_keys (
      id uuid primary key,
      provider_id uuid not null references ai_providers (id) on delete cascade,
      api_key text not null,
      created_at timestamptz not null,
      updated_at timestamptz not null
    )`
  yield* sql`create index ai_provider_keys_provider_id_idx on ai_provider_keys (provider_id)`
  yield* sql`
    create table audit_logs (
      id uuid primary key,
      time timestamptz not null,
      user_id uuid not null,
      action text not null,
      resource_type text not null,
      resource_id uuid not null,
      resource_target text not null,
      diff jsonb not null default '{}'::jsonb,
      request_id uuid not null
    )`
  yield* sql`create index audit_logs_resource_idx on audit_logs (resource_type, resource_id)`
})
