/**
 * `keys rotate`, `keys decrypt`, `keys delete` and `keys status` on real PostgreSQL: every value of every
 * provider (disabled and soft-deleted included, legacy plaintext too) moves, the old keys are revoked, the
 * audit rows carry key ids only, and no secret, key or ciphertext is printed or audited.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestDatabase from "../../support/TestDatabase.js"
import {
  cli,
  digestOf,
  expectedValues,
  keyRegistry,
  newKey,
  openAll,
  providersEnv,
  secretsOf,
  storedValues,
  withKeys
} from "./Keys.js"

const run = "keyscmd"
const env = providersEnv(run)
const legacyKey = `sk-${run}-legacy-plaintext-canary-77`
const secrets = [...secretsOf(run), legacyKey]

/**
 * Seeds with `key`, then makes the set harder: gateway disabled, openai soft-deleted, and two key rows as
 * the previous release left them (plaintext, NULL key id): a real key and a blank one.
 */
const seedAndAge = (key: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const seeded = yield* cli(["seed"], { ...env, ...withKeys(key) }, secrets)
    expect(seeded.code, seeded.stderr).toBe(0)
    const deleted = yield* cli(["providers", "delete", "openai"], { ...env, ...withKeys(key) }, secrets)
    expect(deleted.code, deleted.stderr).toBe(0)
    yield* sql`update ai_providers set enabled = false where name = 'gateway'`
    yield* sql`
      insert into ai_provider_keys (id, provider_id, api_key, created_at, updated_at)
      select gen_random_uuid(), id, v.api_key, now(), now() from ai_providers,
        (values (${legacyKey}), ('')) as v(api_key)
      where name = 'openai'`
  })

/** What `seedAndAge` stores, as plaintext. */
const agedValues = [
  ...expectedValues(run),
  { provider: "openai", column: "ai_provider_keys.api_key", plaintext: "" },
  { provider: "openai", column: "ai_provider_keys.api_key", plaintext: legacyKey }
].sort((a, b) =>
  `${a.provider} ${a.column} ${JSON.stringify(a.plaintext)}`.localeCompare(
    `${b.provider} ${b.column} ${JSON.stringify(b.plaintext)}`
  )
)

const auditOf = (requestId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ action: string; resource_type: string; resource_target: string; diff: Record<string, unknown> }>`
      select action, resource_type, resource_target, diff from audit_logs where request_id = ${requestId}
      order by resource_target, resource_type, diff::text`
  )

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>

layer(TestDatabase.layer(), { excludeTestServices: true })("keys commands", (it) => {
  it.effect("rotate A -> B: every value of every provider under B, legacy plaintext encrypted, blank kept, A revoked", () =>
    Effect.gen(function*() {
      const [a, b] = [newKey(), newKey()]
      yield* seedAndAge(a)

      const status = yield* cli(["keys", "status", "--format", "json"], withKeys(b, a), secrets)
      expect(status.code, status.stderr).toBe(0)
      expect(json(status.stdout)).toMatchObject({
        encryption: { enabled: true, primary_digest: digestOf(b) },
        keys: [{ number: 1, digest: digestOf(a), state: "active", configured: "secondary", values: 4 }],
        unregistered: [digestOf(b)],
        values: [
          { column: "ai_providers.settings", key: digestOf(a), count: 1 },
          { column: "ai_provider_keys.api_key", key: null, count: 2 },
          { column: "ai_provider_keys.api_key", key: digestOf(a), count: 3 }
        ],
        plaintext: 2
      })

      const rotated = yield* cli(["keys", "rotate", "--yes", "--format", "json"], withKeys(b, a), secrets)
      expect(rotated.code, rotated.stderr).toBe(0)
      const report = json(rotated.stdout)
      expect(report).toMatchObject({
        operation: "rotate",
        applied: true,
        target: digestOf(b),
        // The blank legacy key is not counted: a blank value is never encrypted.
        values: [
          { column: "ai_providers.settings", key: digestOf(a), count: 1 },
          { column: "ai_provider_keys.api_key", key: null, count: 1 },
          { column: "ai_provider_keys.api_key", key: digestOf(a), count: 3 }
        ],
        lost: [],
        revoked: [digestOf(a)],
        kept: []
      })
      expect(rotated.logs).toContain("keys rotate: 4 of 4 values of ai_provider_keys.api_key")

      const stored = yield* storedValues
      expect(stored.map((row) => [row.provider, row.key_id]).sort()).toEqual([
        ["anthropic", digestOf(b)],
        ["gateway", digestOf(b)],
        ["gateway", digestOf(b)],
        ["openai", digestOf(b)],
        ["openai", digestOf(b)],
        ["openai", null]
      ].sort())
      expect(openAll(stored, [b])).toEqual(agedValues)
      expect(yield* keyRegistry).toEqual([
        { number: 1, active_key_digest: null, revoked_key_digest: digestOf(a), revoked: true },
        { number: 2, active_key_digest: digestOf(b), revoked_key_digest: null, revoked: false }
      ])

      // One audit row per rewritten value, by key id only.
      const audit = yield* auditOf(report["request_id"] as string)
      expect(audit).toHaveLength(5)
      expect(audit.every((row) => row.action === "write")).toBe(true)
      expect(audit.find((row) => row.resource_type === "ai_provider")).toEqual({
        action: "write",
        resource_type: "ai_provider",
        resource_target: "anthropic",
        diff: {
          provider: "anthropic",
          old: { settings_key_id: digestOf(a) },
          new: { settings_key_id: digestOf(b) }
        }
      })
      expect(audit.filter((row) => row.resource_target === "openai").map((row) => row.diff)).toEqual([
        { provider: "openai", old: { api_key_key_id: digestOf(a) }, new: { api_key_key_id: digestOf(b) } },
        { provider: "openai", old: { api_key_key_id: null }, new: { api_key_key_id: digestOf(b) } }
      ])

      // B alone now reads everything; a second rotation has nothing to do.
      const seeded = yield* cli(["seed", "--format", "json"], { ...env, ...withKeys(b) }, secrets)
      expect(seeded.code, seeded.stderr).toBe(0)
      expect(json(seeded.stdout)["counts"]).toMatchObject({ unchanged: 2, skipped_deleted: 1, inserted: 0 })
      const again = yield* cli(["keys", "rotate", "--yes", "--format", "json"], withKeys(b), secrets)
      expect(again.code, again.stderr).toBe(0)
      expect(json(again.stdout)).toMatchObject({ values: [], revoked: [], kept: [] })
    }).pipe(Effect.provide(TestDatabase.layer())))

  it.effect("decrypt: every value plaintext with a NULL key id, every key revoked; seeds then run without a key", () =>
    Effect.gen(function*() {
      const [a, b] = [newKey(), newKey()]
      yield* seedAndAge(a)
      // A second key in use: a provider added under B (the old values stay under A).
      const secondKey = `sk-${run}-second-canary-5555`
      const withSecond = {
        ...env,
        CODER_AIBRIDGE_PROVIDER_1_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_1_NAME: "second",
        CODER_AIBRIDGE_PROVIDER_1_KEY: secondKey
      }
      const added = yield* cli(["seed"], { ...withSecond, ...withKeys(b, a) }, [...secrets, secondKey])
      expect(added.code, added.stderr).toBe(0)
      const decrypted = yield* cli(["keys", "decrypt", "--yes", "--format", "json"], withKeys(b, a), [
        ...secrets,
        secondKey
      ])
      expect(decrypted.code, decrypted.stderr).toBe(0)
      expect(json(decrypted.stdout)).toMatchObject({
        operation: "decrypt",
        target: null,
        values: [
          { column: "ai_providers.settings", key: digestOf(a), count: 1 },
          // By digest within a column.
          ...[
            { column: "ai_provider_keys.api_key", key: digestOf(a), count: 3 },
            { column: "ai_provider_keys.api_key", key: digestOf(b), count: 1 }
          ].sort((x, y) => x.key < y.key ? -1 : 1)
        ],
        // In dbcrypt_keys order: A was registered first.
        revoked: [digestOf(a), digestOf(b)]
      })
      const stored = yield* storedValues
      expect(stored.every((row) => row.key_id === null)).toBe(true)
      expect(openAll(stored.filter((row) => row.provider !== "second"), [])).toEqual(agedValues)
      expect(stored.filter((row) => row.provider === "second").map((row) => row.value)).toEqual([secondKey])
      expect((yield* keyRegistry).map((row) => [row.active_key_digest, row.revoked])).toEqual([
        [null, true],
        [null, true]
      ])
      const seeded = yield* cli(["seed"], { ...withSecond, ...withKeys() }, [...secrets, secondKey])
      expect(seeded.code, seeded.stderr).toBe(0)
      const status = yield* cli(["keys", "status"], withKeys(), secrets)
      expect(status.stdout).toContain("Plaintext values: 7.")
      expect(status.stdout).toContain(`${digestOf(a)} revoked`)
    }).pipe(Effect.provide(TestDatabase.layer())))

  it.effect("delete (key lost): encrypted keys dropped, encrypted settings cleared, plaintext kept, report per provider; adopt restores", () =>
    Effect.gen(function*() {
      const [a, c] = [newKey(), newKey()]
      const sql = yield* SqlClient.SqlClient
      yield* seedAndAge(a)
      // Damage does not matter: delete never reads what it drops.
      yield* sql`update ai_provider_keys set api_key = 'not base64!' where id = (
        select min(id::text)::uuid from ai_provider_keys
        where provider_id = (select id from ai_providers where name = 'gateway'))`

      const status = yield* cli(["keys", "status", "--format", "json"], withKeys(), secrets)
      expect(status.code, status.stderr).toBe(0)
      expect(json(status.stdout)["keys"]).toMatchObject([{ digest: digestOf(a), state: "active", configured: "no" }])

      const deleted = yield* cli(["keys", "delete", "--yes", "--format", "json"], withKeys(), secrets)
      expect(deleted.code, deleted.stderr).toBe(0)
      const report = json(deleted.stdout)
      expect(report).toMatchObject({
        operation: "delete",
        values: [
          { column: "ai_providers.settings", key: digestOf(a), count: 1 },
          { column: "ai_provider_keys.api_key", key: digestOf(a), count: 3 }
        ],
        lost: [
          { provider: "anthropic", column: "ai_providers.settings", count: 1 },
          { provider: "gateway", column: "ai_provider_keys.api_key", count: 2 },
          { provider: "openai", column: "ai_provider_keys.api_key", count: 1 }
        ],
        revoked: [digestOf(a)]
      })
      const text = yield* cli(["keys", "status"], withKeys(), secrets)
      expect(text.stdout).toContain(`#1 ${digestOf(a)} revoked`)

      expect((yield* storedValues).map((row) => [row.provider, row.value, row.key_id]).sort()).toEqual([
        ["openai", "", null],
        ["openai", legacyKey, null]
      ])
      const [settings] = yield* sql<{ settings: string | null; settings_key_id: string | null }>`
        select settings, settings_key_id from ai_providers where name = 'anthropic'`
      expect(settings).toEqual({ settings: null, settings_key_id: null })
      const audit = yield* auditOf(report["request_id"] as string)
      expect(audit.map((row) => [row.action, row.resource_type, row.resource_target])).toEqual([
        ["write", "ai_provider", "anthropic"],
        ["delete", "ai_provider_key", "gateway"],
        ["delete", "ai_provider_key", "gateway"],
        ["delete", "ai_provider_key", "openai"]
      ])
      expect(audit[1]?.diff).toEqual({
        provider: "gateway",
        api_key_key_id: digestOf(a),
        reason: "encryption key lost (keys delete)"
      })

      // The way back, as the report says: a new key, then adopt from the environment.
      const withC = { ...env, ...withKeys(c) }
      expect((yield* cli(["seed"], withC, secrets)).code).toBe(3)
      expect((yield* cli(["providers", "adopt", "anthropic", "--yes"], withC, secrets)).code).toBe(0)
      expect((yield* cli(["providers", "adopt", "gateway", "--yes", "--replace-keys"], withC, secrets)).code).toBe(0)
      const reseeded = yield* cli(["seed", "--format", "json"], withC, secrets)
      expect(reseeded.code, reseeded.stderr).toBe(0)
      const restored = (yield* storedValues).filter((row) => row.provider !== "openai")
      expect(restored.every((row) => row.key_id === digestOf(c))).toBe(true)
      expect(openAll(restored, [c])).toEqual(agedValues.filter((value) => value.provider !== "openai"))
    }).pipe(Effect.provide(TestDatabase.layer())))

  it.effect("a key that a column outside the list still uses stays active (reported), and is revoked once free", () =>
    Effect.gen(function*() {
      const [a, b] = [newKey(), newKey()]
      const sql = yield* SqlClient.SqlClient
      yield* seedAndAge(a)
      // As the server's own tables do when it shares the database.
      yield* sql`
        create table user_links (
          id int primary key, oauth_access_token text not null,
          oauth_access_token_key_id text null references dbcrypt_keys (active_key_digest))`
      yield* sql`insert into user_links values (1, 'server-ciphertext', ${digestOf(a)})`

      const rotated = yield* cli(["keys", "rotate", "--yes", "--format", "json"], withKeys(b, a), secrets)
      expect(rotated.code, rotated.stderr).toBe(0)
      expect(json(rotated.stdout)).toMatchObject({
        revoked: [],
        kept: [{ digest: digestOf(a), referenced_by: ["user_links.oauth_access_token_key_id"] }]
      })
      expect((yield* storedValues).filter((row) => row.key_id !== null).every((row) => row.key_id === digestOf(b)))
        .toBe(true)
      const text = yield* cli(["keys", "rotate", "--yes"], withKeys(b, a), secrets)
      expect(text.stdout).toContain(`Key ${digestOf(a)} stays active: user_links.oauth_access_token_key_id`)

      yield* sql`update user_links set oauth_access_token_key_id = null`
      const freed = yield* cli(["keys", "rotate", "--yes", "--format", "json"], withKeys(b, a), secrets)
      expect(json(freed.stdout)).toMatchObject({ values: [], revoked: [digestOf(a)], kept: [] })
    }).pipe(Effect.provide(TestDatabase.layer())))

  it.effect("rotate without a key is refused before touching the database (exit 2)", () =>
    Effect.gen(function*() {
      const outcome = yield* cli(["keys", "rotate", "--yes", "--database-url", "postgres://nobody@127.0.0.1:1/none"], {
        ...withKeys()
      })
      expect(outcome.code).toBe(2)
      expect(outcome.stderr).toContain("no key to rotate to")
      expect(outcome.stderr).toContain("keys decrypt")
    }))
})
