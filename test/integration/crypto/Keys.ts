/**
 * Helpers for the encryption-at-rest acceptance tests: keys and their digests, a second implementation of
 * the stored format (so "decrypts with the key" does not trust our own cipher), the stored values as raw
 * rows, and running the command line with explicit keys, whatever keys the test run itself uses.
 */
import { SqlClient } from "@effect/sql"
import { expect } from "@effect/vitest"
import { Deferred, Effect, Fiber, Redacted } from "effect"
import { createDecipheriv, createHash, randomBytes } from "node:crypto"
import { migrate } from "../../../src/db/Migrations.js"
import { runCli } from "../../support/runCli.js"
import * as TestDatabase from "../../support/TestDatabase.js"

export const keysVariable = "CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS"

/** A fresh AES-256 key as the variable holds it. */
export const newKey = () => randomBytes(32).toString("base64")

/** SHA-256 of `aes256gcm` and the raw key, first 7 hex characters: computed here, not by src/crypto. */
export const digestOf = (key: string) =>
  createHash("sha256").update(Buffer.concat([Buffer.from("aes256gcm", "ascii"), Buffer.from(key, "base64")]))
    .digest("hex").slice(0, 7)

/** Opens `base64(nonce || ciphertext || tag)` with node:crypto directly; throws when the key does not fit. */
export const open = (key: string, stored: string) => {
  const bytes = Buffer.from(stored, "base64")
  const decipher = createDecipheriv("aes-256-gcm", Buffer.from(key, "base64"), bytes.subarray(0, 12))
  decipher.setAuthTag(bytes.subarray(bytes.length - 16))
  return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString("utf8")
}

/** The environment of a run with these keys (none: encryption off). */
export const withKeys = (...keys: ReadonlyArray<string>) => ({ [keysVariable]: keys.join(",") })

/** Providers with every kind of secret: a legacy key, Bedrock credentials, an indexed provider with two keys. */
export const providersEnv = (run: string) => ({
  CODER_AIBRIDGE_OPENAI_KEY: `sk-${run}-openai-canary-000111`,
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: `AKIA${run.toUpperCase()}CANARY01`,
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: `${run}/bedrock/secret/canary/0123`,
  CODER_AIBRIDGE_BEDROCK_REGION: "eu-west-1",
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_0_NAME: "gateway",
  CODER_AIBRIDGE_PROVIDER_0_KEYS: `sk-${run}-gateway-canary-aaaa,sk-${run}-gateway-canary-bbbb`
})

/** The plaintexts `providersEnv(run)` stores, by provider and column (settings as their JSON object). */
export const expectedValues = (run: string) => {
  const env = providersEnv(run)
  return [
    {
      provider: "anthropic",
      column: "ai_providers.settings",
      plaintext: {
        _type: "bedrock",
        _version: 1,
        access_key: env.CODER_AIBRIDGE_BEDROCK_ACCESS_KEY,
        access_key_secret: env.CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET,
        region: "eu-west-1"
      }
    },
    { provider: "gateway", column: "ai_provider_keys.api_key", plaintext: `sk-${run}-gateway-canary-aaaa` },
    { provider: "gateway", column: "ai_provider_keys.api_key", plaintext: `sk-${run}-gateway-canary-bbbb` },
    { provider: "openai", column: "ai_provider_keys.api_key", plaintext: env.CODER_AIBRIDGE_OPENAI_KEY }
  ]
}

/** Every secret of `providersEnv(run)`. */
export const secretsOf = (run: string) => {
  const env = providersEnv(run)
  return [
    env.CODER_AIBRIDGE_OPENAI_KEY,
    env.CODER_AIBRIDGE_BEDROCK_ACCESS_KEY,
    env.CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET,
    ...env.CODER_AIBRIDGE_PROVIDER_0_KEYS.split(",")
  ]
}

export interface StoredValue {
  readonly id: string
  readonly provider: string
  readonly column: string
  readonly value: string
  readonly key_id: string | null
}

/** Every non-NULL value of the two encrypted columns, as stored (written out here, not from src/db). */
export const storedValues = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<StoredValue>`
    select p.id::text as id, p.name as provider, 'ai_providers.settings' as column, p.settings as value,
      p.settings_key_id as key_id
    from ai_providers p where p.settings is not null
    union all
    select k.id::text, p.name, 'ai_provider_keys.api_key', k.api_key, k.api_key_key_id
    from ai_provider_keys k join ai_providers p on p.id = k.provider_id
    order by 2, 3, 1`)

/** Each stored value opened with the key its key id names (plaintext as it is); settings parsed. */
export const openAll = (values: ReadonlyArray<StoredValue>, keys: ReadonlyArray<string>) => {
  const byDigest = new Map(keys.map((key) => [digestOf(key), key]))
  return values.map((row) => {
    const key = row.key_id === null ? undefined : byDigest.get(row.key_id)
    if (row.key_id !== null && key === undefined) throw new Error(`no key with digest ${row.key_id} in the test`)
    const text = key === undefined ? row.value : open(key, row.value)
    return {
      provider: row.provider,
      column: row.column,
      plaintext: row.column === "ai_providers.settings" ? JSON.parse(text) as unknown : text
    }
  }).sort((a, b) =>
    `${a.provider} ${a.column} ${JSON.stringify(a.plaintext)}`.localeCompare(
      `${b.provider} ${b.column} ${JSON.stringify(b.plaintext)}`
    )
  )
}

/** Every row of every table the program writes, as JSON text in a stable order: "nothing written" is equality. */
export const rawState = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = (table: string) =>
    sql<{ row: string }>`select row_to_json(t)::text as row from ${sql(table)} t order by 1`.pipe(
      Effect.map((result) => result.map(({ row }) => row))
    )
  return {
    providers: yield* rows("ai_providers"),
    keys: yield* rows("ai_provider_keys"),
    audit: yield* rows("audit_logs"),
    dbcrypt: yield* rows("dbcrypt_keys")
  }
})

export interface KeyRegistryRow {
  readonly number: number
  readonly active_key_digest: string | null
  readonly revoked_key_digest: string | null
  readonly revoked: boolean
}

export const keyRegistry = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<KeyRegistryRow>`
    select number, active_key_digest, revoked_key_digest, revoked_at is not null as revoked
    from dbcrypt_keys order by number`)

/**
 * Runs the command line in-process against the test database with `env` (which should name its keys);
 * then checks that no secret, no encryption key and no stored ciphertext is in its output or in
 * `audit_logs`.
 */
export const cli = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>,
  secrets: ReadonlyArray<string> = []
) =>
  Effect.gen(function*() {
    const { url } = yield* TestDatabase.TestDatabase
    yield* migrate()
    const before = yield* storedValues
    const outcome = yield* runCli(args, { ...env, DATABASE_URL: Redacted.value(url) })
    const after = yield* storedValues
    const sql = yield* SqlClient.SqlClient
    const audit = (yield* sql<{ row: string }>`select row_to_json(a)::text as row from audit_logs a`).map((r) => r.row)
    const ciphertexts = [...before, ...after].filter((row) => row.key_id !== null).map((row) => row.value)
    const encryptionKeys = (env[keysVariable] ?? "").split(",").filter((key) => key !== "")
    // One string and plain `includes`: an `expect` per pair is seconds of CPU for a thousand rows.
    const text = [outcome.all, ...audit].join("\n")
    const leaked = [...secrets, ...encryptionKeys, ...ciphertexts].filter((secret) => text.includes(secret))
    expect(leaked, "a secret, an encryption key or a ciphertext leaked").toEqual([])
    return outcome
  })

/** Holds a share lock on the key row of `digest` in a transaction of its own, until released. */
export const holdKeyRow = (digest: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const held = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const fiber = yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`select 1 from dbcrypt_keys where active_key_digest = ${digest} for key share`
      yield* Deferred.succeed(held, undefined)
      yield* Deferred.await(release)
    })).pipe(Effect.fork)
    yield* Deferred.await(held)
    return Deferred.succeed(release, undefined).pipe(Effect.zipRight(Fiber.join(fiber)))
  })

/** The session holding the seed lock is waiting on a row lock, having written ai_provider_keys. */
export const rotationHeldAfterWriting = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ held: boolean }>`
    select exists(
      select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.objid = 10 and l.objsubid = 1 and l.granted
        and a.datname = current_database() and a.wait_event_type = 'Lock'
        and exists (select 1 from pg_locks w where w.pid = a.pid and w.granted and w.mode = 'RowExclusiveLock'
          and w.relation = 'ai_provider_keys'::regclass)
    ) as held`).pipe(Effect.map((rows) => rows[0]?.held === true))
