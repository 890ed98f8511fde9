/**
 * Issue 13's acceptance on real PostgreSQL, for the seed: with a key every secret is stored as ciphertext
 * of that key (checked with a second implementation of the format), without one as plaintext; and a
 * missing key, a revoked primary and a corrupted ciphertext each stop the seed and the key commands with
 * exit 7 and write nothing.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer } from "effect"
import { pool } from "../../../src/db/Database.js"
import { migrate } from "../../../src/db/Migrations.js"
import * as TestDatabase from "../../support/TestDatabase.js"
import { waitUntil } from "../faults/Faults.js"
import {
  cli,
  digestOf,
  expectedValues,
  keyRegistry,
  newKey,
  open,
  openAll,
  providersEnv,
  rawState,
  secretsOf,
  storedValues,
  withKeys
} from "./Keys.js"

const run = "seedenc"
const env = providersEnv(run)
const secrets = secretsOf(run)
/** One more provider, so a failed run has something it would have written. */
const extra = { ...env, CODER_AIBRIDGE_PROVIDER_1_TYPE: "anthropic", CODER_AIBRIDGE_PROVIDER_1_NAME: "more" }
const extraSecret = `sk-${run}-more-canary-123456`
const extraEnv = { ...extra, CODER_AIBRIDGE_PROVIDER_1_KEY: extraSecret }
const allSecrets = [...secrets, extraSecret]

/** Some session waits for the seed lock in the test's database. */
const seedWaitsForLock = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ waiting: boolean }>`
    select exists(select 1 from pg_locks where locktype = 'advisory' and objid = 10 and not granted
      and database = (select oid from pg_database where datname = current_database())) as waiting`).pipe(
    Effect.map((rows) => rows[0]?.waiting === true)
  )

/** Seeds `providersEnv` with `keys`; exit 0. */
const seedWith = (...keys: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const outcome = yield* cli(["seed", "--format", "json"], { ...env, ...withKeys(...keys) }, allSecrets)
    expect(outcome.code, outcome.stderr).toBe(0)
    return JSON.parse(outcome.stdout) as { encryption: unknown }
  })

/** Runs `args` and expects exit 7, the message containing `expected`, and every table as it was. */
const expectRefused = (args: ReadonlyArray<string>, keys: Record<string, string>, expected: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const before = yield* rawState
    const outcome = yield* cli(args, { ...extraEnv, ...keys }, allSecrets)
    expect(outcome.code, `${args.join(" ")}: ${outcome.stderr}`).toBe(7)
    for (const text of expected) expect(outcome.stderr).toContain(text)
    expect(yield* rawState).toEqual(before)
  })

layer(TestDatabase.layer(), { excludeTestServices: true })("the seed with encryption at rest", (it) => {
  it.effect("with a key: ciphertext of that key (key id = its digest), settings too; the report names the digest", () =>
    Effect.gen(function*() {
      const key = newKey()
      const report = yield* seedWith(key)
      expect(report.encryption).toEqual({ enabled: true, primary_digest: digestOf(key) })

      const stored = yield* storedValues
      expect(stored).toHaveLength(4)
      for (const row of stored) {
        expect(row.key_id).toBe(digestOf(key))
        for (const secret of secrets) expect(row.value).not.toContain(secret)
        expect(row.value).not.toContain("bedrock")
      }
      expect(openAll(stored, [key])).toEqual(expectedValues(run))
      // Two encryptions of a value never look alike: a fresh nonce each time.
      expect(new Set(stored.map((row) => row.value.slice(0, 16))).size).toBe(stored.length)

      const registry = yield* Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<{ number: number; active_key_digest: string; test: string }>`select * from dbcrypt_keys`
      )
      expect(registry).toHaveLength(1)
      expect(registry[0]).toMatchObject({ number: 1, active_key_digest: digestOf(key) })
      expect(open(key, registry[0]!.test)).toBe("coder")

      // The next run reads them back (decrypted) and finds nothing to do.
      const again = yield* cli(["seed", "--format", "json"], { ...env, ...withKeys(key) }, allSecrets)
      expect(JSON.parse(again.stdout).counts).toMatchObject({ inserted: 0, unchanged: 3, conflict: 0 })
    }).pipe(Effect.provide(TestDatabase.layer())))

  it.effect("without a key: plaintext and NULL key ids, no key registered, the report says encryption is off", () =>
    Effect.gen(function*() {
      const report = yield* seedWith()
      expect(report.encryption).toEqual({ enabled: false, primary_digest: null })
      const stored = yield* storedValues
      expect(stored.map((row) => row.key_id)).toEqual([null, null, null, null])
      expect(openAll(stored, [])).toEqual(expectedValues(run))
      expect(yield* keyRegistry).toEqual([])
    }).pipe(Effect.provide(TestDatabase.layer())))

  it.effect("a missing key: exit 7 naming the digest, nothing written (seed and every key command that reads)", () =>
    Effect.gen(function*() {
      const [a, b] = [newKey(), newKey()]
      yield* seedWith(a)
      yield* expectRefused(["seed"], withKeys(b), [
        digestOf(a),
        "not configured",
        "CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS"
      ])
      yield* expectRefused(["seed"], withKeys(), [digestOf(a), "no encryption key is configured"])
      yield* expectRefused(["keys", "rotate", "--yes"], withKeys(b), [digestOf(a)])
      yield* expectRefused(["keys", "decrypt", "--yes"], withKeys(), [digestOf(a)])
      yield* expectRefused(["providers", "list"], withKeys(b), [digestOf(a)])
    }).pipe(Effect.provide(TestDatabase.layer())))

  it.effect("a revoked primary: exit 7, nothing written", () =>
    Effect.gen(function*() {
      const [a, b] = [newKey(), newKey()]
      yield* seedWith(a)
      const rotated = yield* cli(["keys", "rotate", "--yes"], withKeys(b, a), allSecrets)
      expect(rotated.code, rotated.stderr).toBe(0)
      const revoked = [`the primary (first) key ${digestOf(a)} has been revoked`]
      yield* expectRefused(["seed"], withKeys(a, b), revoked)
      yield* expectRefused(["keys", "rotate", "--yes"], withKeys(a, b), revoked)
      // The keys in the right order work.
      yield* seedWith(b, a)
    }).pipe(Effect.provide(TestDatabase.layer())))

  it.effect("a key that the seed lock's holder registers while the seed waits is seen: exit 7, nothing written", () =>
    Effect.gen(function*() {
      const [a, b] = [newKey(), newKey()]
      yield* migrate()
      // Another session (on a pool of its own) takes the seed lock and registers key a, as a seed with key a
      // does, and holds on.
      const { url } = yield* TestDatabase.TestDatabase
      const sql = Context.get(yield* Layer.build(pool(url, { maxConnections: 1 })), SqlClient.SqlClient)
      const registered = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`select pg_advisory_xact_lock(10)`
        yield* sql`insert into dbcrypt_keys (number, active_key_digest, test) values (1, ${digestOf(a)}, 'coder')`
        yield* Deferred.succeed(registered, undefined)
        yield* Deferred.await(release)
      })).pipe(Effect.fork)
      yield* Deferred.await(registered)
      const seeding = yield* Effect.fork(cli(["seed"], { ...env, ...withKeys(b) }, allSecrets))
      yield* waitUntil("the seed waits for the seed lock", seedWaitsForLock, "60 seconds")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      const outcome = yield* Fiber.join(seeding)
      // Before, the seed read the keys when its wait began: it registered b beside a and wrote with b.
      expect(outcome.code, outcome.stderr).toBe(7)
      expect(outcome.stderr).toContain(digestOf(a))
      expect((yield* keyRegistry).map((row) => row.active_key_digest)).toEqual([digestOf(a)])
      expect(yield* storedValues).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(TestDatabase.layer())))

  it.effect("a corrupted ciphertext: exit 7 naming the provider, column and digest (never the value), nothing written", () =>
    Effect.gen(function*() {
      const [a, b] = [newKey(), newKey()]
      yield* seedWith(a)
      const sql = yield* SqlClient.SqlClient
      // One byte of the openai key's ciphertext flipped: the tag no longer matches.
      const [row] = yield* sql<{ id: string; api_key: string }>`
        select k.id, k.api_key from ai_provider_keys k join ai_providers p on p.id = k.provider_id
        where p.name = 'openai'`
      const bytes = Buffer.from(row!.api_key, "base64")
      bytes[14] = bytes[14]! ^ 0x01
      yield* sql`update ai_provider_keys set api_key = ${bytes.toString("base64")} where id = ${row!.id}`
      const named = [`ai_provider_keys.api_key of AI provider "openai"`, digestOf(a), "authentication tag"]
      yield* expectRefused(["seed"], withKeys(a), named)
      // rotate rewrites the Bedrock settings first, then meets the bad key: the settings roll back too.
      yield* expectRefused(["keys", "rotate", "--yes"], withKeys(b, a), named)
      yield* expectRefused(["keys", "decrypt", "--yes"], withKeys(a), named)
    }).pipe(Effect.provide(TestDatabase.layer())))
})
