import { Migrator, SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { StoredProvider } from "../../../src/core/Provider.js"
import { migrate, migrationsTable } from "../../../src/db/Migrations.js"
import createAiProviders from "../../../src/db/migrations/0001_create_ai_providers.js"
import { settingsColumn } from "../../../src/db/ProviderRows.js"
import { ProviderStore } from "../../../src/db/ProviderStore.js"
import * as TestDatabase from "../../support/TestDatabase.js"

/** The schema as the previous release left it: migration 0001 only. */
const migrateTo0001 = Migrator.make({})({
  loader: Migrator.fromRecord({ "0001_create_ai_providers": createAiProviders }),
  table: migrationsTable
})

const at = "2026-01-02T03:04:05.678901Z"

/** Settings as the previous release stored them (jsonb), with characters that a text round trip could mangle. */
const bedrock = (i: number) => ({
  _type: "bedrock",
  _version: 1,
  region: i % 2 === 0 ? "us-east-1" : "eu-west-3",
  model: `anthropic.claude-${i} "quoted" \\ back\\slash`,
  small_fast_model: "línea\nnueva\ttab 🔑 鍵 \u2028",
  base_url: `https://bedrock.example/${i}?x=1&y='2'`,
  access_key: `AKIA${i}'); drop table ai_providers; --`,
  access_key_secret: `secret/${i}+=${"z".repeat(i)}`
})

const seedPreviousRelease = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const providers = Array.from({ length: 60 }, (_, i) => ({
    id: crypto.randomUUID(),
    type: i % 3 === 0 ? "anthropic" : "openai",
    name: `provider-${i}`,
    display_name: i % 5 === 0 ? null : `Provider ${i} ✓`,
    enabled: i % 7 !== 0,
    deleted: i % 11 === 0,
    base_url: i % 4 === 0 ? "" : `https://api.example/${i}/v1`,
    settings: i % 3 === 0 ? bedrock(i) : null,
    created_at: at,
    updated_at: at
  }))
  yield* sql`
    insert into ai_providers (id, type, name, display_name, enabled, deleted, base_url, settings, created_at, updated_at)
    select * from jsonb_to_recordset(${JSON.stringify(providers)}::jsonb) as r(
      id uuid, type ai_provider_type, name text, display_name text, enabled boolean, deleted boolean, base_url text,
      settings jsonb, created_at timestamptz, updated_at timestamptz)`
  const keys = providers.filter((row) => row.settings === null).flatMap((row, i) =>
    Array.from({ length: 1 + (i % 3) }, (_, k) => ({
      id: crypto.randomUUID(),
      provider_id: row.id,
      api_key: k === 2 ? "" : `sk-${row.name}-${k}-ünïcödé-${"x".repeat(k * 40)}`,
      created_at: at,
      updated_at: at
    }))
  )
  yield* sql`
    insert into ai_provider_keys (id, provider_id, api_key, created_at, updated_at)
    select * from jsonb_to_recordset(${JSON.stringify(keys)}::jsonb) as r(
      id uuid, provider_id uuid, api_key text, created_at timestamptz, updated_at timestamptz)`
  yield* sql`
    insert into audit_logs (id, time, user_id, action, resource_type, resource_id, resource_target, diff, request_id)
    select gen_random_uuid(), ${at}::timestamptz, '00000000-0000-0000-0000-000000000000', 'create', 'ai_provider',
      id, name, jsonb_build_object('name', name, 'settings', settings), '11111111-1111-1111-1111-111111111111'
    from ai_providers`
  return providers
})

/** Every stored value as PostgreSQL prints it; `settings::text` is the identity once the column is text. */
const snapshot = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return {
    providers: yield* sql`
      select id::text, type::text, name, display_name, enabled::text, deleted::text, base_url, settings::text,
        created_at::text, updated_at::text
      from ai_providers order by id`,
    keys: yield* sql`
      select id::text, provider_id::text, api_key, created_at::text, updated_at::text from ai_provider_keys order by id`,
    audit: yield* sql`select a::text as row from audit_logs a order by id`
  }
})

layer(TestDatabase.layer(), { excludeTestServices: true })("migration 0002 (encryption at rest)", (it) => {
  it.effect("upgrades a plaintext database seeded by the previous release, keeping every value byte for byte", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      expect(yield* migrateTo0001).toEqual([[1, "create_ai_providers"]])
      const seeded = yield* seedPreviousRelease
      const before = yield* snapshot
      expect(before.providers).toHaveLength(60)
      expect(before.keys.length).toBeGreaterThan(60)

      expect(yield* migrate()).toEqual([[2, "encryption_at_rest"]])

      const after = yield* snapshot
      expect(after).toEqual(before)
      const columns = yield* sql<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>`
        select table_name, column_name, data_type, is_nullable from information_schema.columns
        where (table_name, column_name) in (('ai_providers', 'settings'), ('ai_providers', 'settings_key_id'),
          ('ai_provider_keys', 'api_key_key_id'))
        order by table_name, column_name`
      expect(columns).toEqual([
        { table_name: "ai_provider_keys", column_name: "api_key_key_id", data_type: "text", is_nullable: "YES" },
        { table_name: "ai_providers", column_name: "settings", data_type: "text", is_nullable: "YES" },
        { table_name: "ai_providers", column_name: "settings_key_id", data_type: "text", is_nullable: "YES" }
      ])
      // Every existing value is plaintext: NULL key ids, and no key registered.
      const keyIds = yield* sql<{ providers: string; keys: string; registered: string }>`
        select (select count(*) from ai_providers where settings_key_id is not null) as providers,
          (select count(*) from ai_provider_keys where api_key_key_id is not null) as keys,
          (select count(*) from dbcrypt_keys) as registered`
      expect(keyIds).toEqual([{ providers: "0", keys: "0", registered: "0" }])

      // The store reads the upgraded settings back as the blobs that were written.
      const loaded = yield* Effect.flatMap(ProviderStore, (store) => store.load).pipe(
        Effect.provide(ProviderStore.Default)
      )
      const expected = new Map<string, unknown>(seeded.map((row) => [row.id, row.settings]))
      expect(loaded).toHaveLength(60)
      for (const row of loaded) {
        expect(row).toBeInstanceOf(StoredProvider)
        expect(settingsColumn((row as StoredProvider).bedrock)).toEqual(expected.get(row.id))
      }
    }))

  it.effect("a key cannot be revoked while a value is still encrypted with it (the key id references the active digest)", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* migrate()
      yield* sql`insert into dbcrypt_keys (number, active_key_digest, test) values (1, 'abc1234', 'x')`
      const [key] = yield* sql<{ id: string }>`select id from ai_provider_keys where api_key <> '' order by id limit 1`
      yield* sql`update ai_provider_keys set api_key_key_id = 'abc1234' where id = ${key!.id}`
      // Revocation as Coder's RevokeDBCryptKey does it: the digest moves to revoked_key_digest.
      const revoke = sql`
        update dbcrypt_keys set revoked_key_digest = active_key_digest, active_key_digest = revoked_key_digest,
          revoked_at = now()
        where active_key_digest = 'abc1234' and revoked_key_digest is null`
      const error = yield* Effect.flip(revoke)
      expect((error.cause as { code?: string }).code).toBe("23503")
      yield* sql`update ai_provider_keys set api_key_key_id = null where id = ${key!.id}`
      yield* revoke
      const rows = yield* sql`select number, active_key_digest, revoked_key_digest from dbcrypt_keys`
      expect(rows).toEqual([{ number: 1, active_key_digest: null, revoked_key_digest: "abc1234" }])
    }))

  it.effect("keeps a dbcrypt_keys table that Coder's server created, and its rows", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      // Coder's own DDL (coderd/database/migrations, dbcrypt_keys): created_at is nullable there.
      yield* sql`
        create table dbcrypt_keys (
          number int not null primary key,
          active_key_digest text unique,
          revoked_key_digest text unique,
          created_at timestamp with time zone default current_timestamp,
          revoked_at timestamp with time zone default null,
          test text not null
        )`
      yield* sql`insert into dbcrypt_keys (number, active_key_digest, test) values (1, 'fedcba9', 'server-test')`
      expect((yield* migrate()).map(([id]) => id)).toEqual([1, 2])
      const rows = yield* sql`select number, active_key_digest, test from dbcrypt_keys`
      expect(rows).toEqual([{ number: 1, active_key_digest: "fedcba9", test: "server-test" }])
    }).pipe(Effect.provide(TestDatabase.layer())))
})
