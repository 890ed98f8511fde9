/**
 * `keys rotate` while seeds run: no value lost, none encrypted twice, and the old key's revocation
 * succeeds. Round 1 makes the interleaving explicit: a seed writes under the new key first, the rotation
 * is held (by a share lock on the old key's row) after it has rewritten every value, three seeds queue
 * behind it on the seed lock, then it is let go. Round 2 starts a rotation and three seeds at once and
 * lets the lock order them as it will; either order must end in the same state.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as TestDatabase from "../../support/TestDatabase.js"
import { waitUntil } from "../faults/Faults.js"
import {
  cli,
  digestOf,
  holdKeyRow,
  keyRegistry,
  newKey,
  openAll,
  rotationHeldAfterWriting,
  storedValues,
  withKeys
} from "./Keys.js"

const baseCount = 200
const groupCount = 50
const bedrockSecret = "concurrent/bedrock/secret/canary/0001"
const keyOf = (group: string, i: number) => `sk-concurrent-${group}-${i}-canary-0123456789`

/** `count` indexed OpenAI providers `<group>-<i>` from index `offset`, one key each. */
const providers = (group: string, count: number, offset: number) =>
  Object.fromEntries(
    Array.from({ length: count }, (_, i) => [
      [`CODER_AIBRIDGE_PROVIDER_${offset + i}_TYPE`, "openai"],
      [`CODER_AIBRIDGE_PROVIDER_${offset + i}_NAME`, `${group}-${i}`],
      [`CODER_AIBRIDGE_PROVIDER_${offset + i}_KEY`, keyOf(group, i)]
    ]).flat()
  )

const base = {
  ...providers("base", baseCount, 0),
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: "AKIACONCURRENTCANARY",
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: bedrockSecret,
  CODER_AIBRIDGE_BEDROCK_REGION: "us-west-2"
}
/** The base set and the group's own providers: each seed also finds the base set unchanged. */
const envWith = (group: string) => ({ ...base, ...providers(group, groupCount, baseCount) })

/** The plaintexts the database must hold after the given groups were seeded. */
const expected = (groups: ReadonlyArray<string>) =>
  [
    {
      provider: "anthropic",
      column: "ai_providers.settings",
      plaintext: {
        _type: "bedrock",
        _version: 1,
        access_key: "AKIACONCURRENTCANARY",
        access_key_secret: bedrockSecret,
        region: "us-west-2"
      }
    },
    ...["base", ...groups].flatMap((group) =>
      Array.from({ length: group === "base" ? baseCount : groupCount }, (_, i) => ({
        provider: `${group}-${i}`,
        column: "ai_provider_keys.api_key",
        plaintext: keyOf(group, i)
      }))
    )
  ].sort((a, b) =>
    `${a.provider} ${a.column} ${JSON.stringify(a.plaintext)}`.localeCompare(
      `${b.provider} ${b.column} ${JSON.stringify(b.plaintext)}`
    )
  )

const secrets = [bedrockSecret, "sk-concurrent-"]

const seed = (group: string, keys: Record<string, string>, lockTimeout = "2m") =>
  Effect.map(
    cli(["seed", "--lock-timeout", lockTimeout, "--format", "json"], { ...envWith(group), ...keys }, secrets),
    (outcome) => ({ group, ...outcome })
  )

const rotate = (keys: Record<string, string>) =>
  cli(["keys", "rotate", "--yes", "--lock-timeout", "2m", "--format", "json"], keys, secrets)

/** How many sessions of this database wait for the seed lock. */
const seedLockWaiters = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ waiting: number }>`
    select count(*)::int as waiting from pg_locks l join pg_database d on d.oid = l.database
    where l.locktype = 'advisory' and l.objid = 10 and l.objsubid = 1 and not l.granted
      and d.datname = current_database()`).pipe(Effect.map((rows) => rows[0]?.waiting ?? 0))

/** Every value under `key` and decrypting with it (once) to exactly the expected plaintexts. */
const expectAllUnder = (key: string, groups: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const stored = yield* storedValues
    expect(stored.filter((row) => row.key_id !== digestOf(key))).toEqual([])
    expect(openAll(stored, [key])).toEqual(expected(groups))
  })

layer(TestDatabase.layer({ maxConnections: 4 }), { excludeTestServices: true })("keys rotate with seeds", (it) => {
  it.effect(
    "round 1 (explicit order) and round 2 (any order): nothing lost, nothing encrypted twice, old key revoked",
    () =>
      Effect.gen(function*() {
        const [a, b, c] = [newKey(), newKey(), newKey()]
        const first = yield* seed("g0", withKeys(a))
        expect(first.code, first.stderr).toBe(0)

        // Round 1. A seed with the new key first: B registered, g1 written under B, the rest still under A.
        const early = yield* seed("g1", withKeys(b, a))
        expect(early.code, early.stderr).toBe(0)
        const release = yield* holdKeyRow(digestOf(a))
        const rotation = yield* Effect.fork(rotate(withKeys(b, a)))
        yield* waitUntil("the rotation has written and waits before revoking", rotationHeldAfterWriting, "90 seconds")
        const seeds = yield* Effect.fork(Effect.all(["g2", "g3", "g4"].map((g) => seed(g, withKeys(b, a))), {
          concurrency: "unbounded"
        }))
        yield* waitUntil(
          "three seeds wait behind the rotation",
          Effect.map(seedLockWaiters, (n) => n === 3),
          "90 seconds"
        )
        // The wait is the seed lock's, so it is bounded: an impatient seed gives up, naming the rotation.
        const impatient = yield* seed("g9", withKeys(b, a), "1s")
        expect(impatient.code, impatient.stderr).toBe(5)
        expect(impatient.stderr).toContain("Gave up after")
        expect(impatient.stderr).toContain("application \"ai-provider-seed\"")
        yield* release
        const rotated = yield* Fiber.join(rotation)
        expect(rotated.code, rotated.stderr).toBe(0)
        const report = JSON.parse(rotated.stdout)
        // Only what was under A: g1's values were already under B.
        expect(report.values).toEqual([
          { column: "ai_providers.settings", key: digestOf(a), count: 1 },
          { column: "ai_provider_keys.api_key", key: digestOf(a), count: baseCount + groupCount }
        ])
        expect(report.revoked).toEqual([digestOf(a)])
        for (const outcome of yield* Fiber.join(seeds)) {
          expect(outcome.code, `${outcome.group}: ${outcome.stderr}`).toBe(0)
          expect(JSON.parse(outcome.stdout).counts).toMatchObject({ inserted: groupCount, unchanged: baseCount + 1 })
        }
        yield* expectAllUnder(b, ["g0", "g1", "g2", "g3", "g4"])
        expect((yield* keyRegistry).map((row) => [row.active_key_digest, row.revoked_key_digest])).toEqual([
          [null, digestOf(a)],
          [digestOf(b), null]
        ])

        // Round 2: a rotation to C and three seeds at once, in whatever order the lock grants them.
        const outcomes = yield* Effect.all([
          rotate(withKeys(c, b)).pipe(Effect.map((outcome) => ({ group: "rotate", ...outcome }))),
          ...["g5", "g6", "g7"].map((g) => seed(g, withKeys(c, b)))
        ], { concurrency: "unbounded" })
        for (const outcome of outcomes) expect(outcome.code, `${outcome.group}: ${outcome.stderr}`).toBe(0)
        expect(JSON.parse(outcomes[0]!.stdout).revoked).toEqual([digestOf(b)])
        yield* expectAllUnder(c, ["g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7"])
        expect((yield* keyRegistry).map((row) => row.active_key_digest)).toEqual([null, null, digestOf(c)])
      }),
    { timeout: 300_000 }
  )
})
