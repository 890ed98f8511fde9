import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Redacted } from "effect"
import { SeedLock } from "../../../src/db/SeedLock.js"
import { runCli } from "../../support/runCli.js"
import { expectNoSecrets, resetDatabase, secretsOf, snapshot } from "../../support/Seeding.js"
import { awaitRow } from "../../support/ServerState.js"
import * as TestDatabase from "../../support/TestDatabase.js"

const openaiKey = "sk-admin-canary-openai-11112222333344"
const rotatedKey = "sk-admin-canary-rotated-5555666677778"
const accessSecret = "admin/canary/bedrock/secret/99998888"
const base = {
  CODER_AIBRIDGE_OPENAI_KEY: openaiKey,
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: "AKIAADMINCANARY00000",
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: accessSecret,
  CODER_AIBRIDGE_BEDROCK_REGION: "us-east-1"
}
const changed = {
  ...base,
  CODER_AIBRIDGE_OPENAI_KEY: rotatedKey,
  CODER_AIBRIDGE_OPENAI_BASE_URL: "https://proxy.internal/v1/",
  CODER_AIBRIDGE_BEDROCK_REGION: "eu-west-1"
}
const secrets = [...secretsOf(base), ...secretsOf(changed)]

/** Runs the command line in-process against this file's database; checks every output for secrets. */
const cli = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.gen(function*() {
    const { url } = yield* TestDatabase.TestDatabase
    const outcome = yield* runCli(args, { ...env, DATABASE_URL: Redacted.value(url) })
    const sql = yield* SqlClient.SqlClient
    const audit = yield* sql<{ diff: string }>`select diff::text as diff from audit_logs`
    expectNoSecrets([outcome.all, ...audit.map((row) => row.diff)], secrets)
    return outcome
  })

const rowText = (name: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ row: string }>`select p::text as row from ai_providers p where name = ${name}`.pipe(
        Effect.map((rows) => rows[0]?.row)
      )
  )

layer(SeedLock.Default.pipe(Layer.provideMerge(TestDatabase.layer())), { excludeTestServices: true })(
  "providers adopt, delete, restore and seed --on-conflict",
  (it) => {
    it.effect("adopt shows the difference (exit 3), then --yes resolves the conflict and the next seed is unchanged", () =>
      Effect.gen(function*() {
        yield* resetDatabase
        expect((yield* cli(["seed"], base)).code).toBe(0)
        expect((yield* cli(["seed"], changed)).code).toBe(3)
        const before = yield* snapshot

        const shown = yield* cli(["providers", "adopt", "openai"], changed)
        expect(shown.code).toBe(3)
        expect(shown.stdout).toContain("base_url")
        expect(shown.stdout).toContain("--yes")
        expect(yield* snapshot).toEqual(before)

        const adopted = yield* cli(["providers", "adopt", "openai", "--yes"], changed)
        expect(adopted.code).toBe(0)
        const adoptedBedrock = yield* cli(["providers", "adopt", "anthropic", "--yes", "--format", "json"], changed)
        expect(adoptedBedrock.code).toBe(0)
        expect(JSON.parse(adoptedBedrock.stdout).differences).toEqual([
          { field: "bedrock.region", secret: false, stored: "us-east-1", desired: "eu-west-1" }
        ])

        const reseeded = yield* cli(["seed", "--format", "json"], changed)
        expect(reseeded.code).toBe(0)
        const report = JSON.parse(reseeded.stdout)
        expect(report.providers.map((p: { action: string }) => p.action)).toEqual(["unchanged", "unchanged"])
        // The keys were kept (no --replace-keys): the rotated env key is only a drift warning.
        expect(report.providers[1].warnings[0]).toContain("differ from the stored keys")

        const state = yield* snapshot
        expect(state.keys.map((k) => k.api_key)).toEqual([openaiKey])
        const writes = state.audit.filter((row) => row.action === "write")
        expect(writes.map((row) => row.resource_target).sort()).toEqual(["anthropic", "openai"])
        const bedrockWrite = writes.find((row) => row.resource_target === "anthropic")!
        expect(bedrockWrite.diff).toMatchObject({
          old: { bedrock: { region: "us-east-1", access_key_secret: "admi...8888" } },
          new: { bedrock: { region: "eu-west-1", access_key_secret: "admi...8888" } }
        })
      }))

    it.effect("adopt --yes --replace-keys replaces the stored keys with the environment's, audited and masked", () =>
      Effect.gen(function*() {
        yield* resetDatabase
        yield* cli(["seed"], base)
        const result = yield* cli(["providers", "adopt", "openai", "--yes", "--replace-keys"], changed)
        expect(result.code).toBe(0)
        const state = yield* snapshot
        expect(state.keys.map((k) => k.api_key)).toEqual([rotatedKey])
        const keyAudit = state.audit.filter((row) => row.resource_type === "ai_provider_key")
        expect(keyAudit.map((row) => [row.action, row.diff["api_key"]]).sort()).toEqual([
          ["create", "sk-a...3344"],
          ["create", "sk-a...7778"],
          ["delete", "sk-a...3344"]
        ])
      }))

    it.effect("adopt refuses with exit 2 when the provider does not differ, does not exist, or is deleted", () =>
      Effect.gen(function*() {
        yield* resetDatabase
        yield* cli(["seed"], base)
        const before = yield* snapshot
        const same = yield* cli(["providers", "adopt", "openai", "--yes"], base)
        expect([same.code, same.stderr]).toEqual([2, expect.stringContaining("does not differ")])
        const missing = yield* cli(["providers", "adopt", "openai-eu", "--yes"], {
          ...base,
          CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
          CODER_AIBRIDGE_PROVIDER_0_NAME: "openai-eu"
        })
        expect([missing.code, missing.stderr]).toEqual([
          2,
          expect.stringContaining("no provider with this name is stored")
        ])
        const unconfigured = yield* cli(["providers", "adopt", "nowhere", "--yes"], base)
        expect([unconfigured.code, unconfigured.stderr]).toEqual([
          2,
          expect.stringContaining("does not configure a provider with this name")
        ])
        expect(yield* snapshot).toEqual(before)

        expect((yield* cli(["providers", "delete", "openai"], base)).code).toBe(0)
        const afterDelete = yield* snapshot
        const deleted = yield* cli(["providers", "adopt", "openai", "--yes"], changed)
        expect([deleted.code, deleted.stderr]).toEqual([2, expect.stringContaining("soft-deleted")])
        expect(yield* snapshot).toEqual(afterDelete)
      }))

    it.effect("delete then seed reports skipped_deleted; restore then seed reports unchanged; each step audited", () =>
      Effect.gen(function*() {
        yield* resetDatabase
        yield* cli(["seed"], base)
        expect((yield* cli(["providers", "delete", "openai"], base)).code).toBe(0)
        const afterDelete = JSON.parse((yield* cli(["seed", "--format", "json"], base)).stdout)
        expect(afterDelete.providers.find((p: { name: string }) => p.name === "openai").action).toBe("skipped_deleted")
        expect((yield* cli(["providers", "delete", "openai"], base)).code).toBe(2)

        expect((yield* cli(["providers", "restore", "openai"], base)).code).toBe(0)
        const afterRestore = JSON.parse((yield* cli(["seed", "--format", "json"], base)).stdout)
        expect(afterRestore.providers.find((p: { name: string }) => p.name === "openai").action).toBe("unchanged")
        expect((yield* cli(["providers", "restore", "openai"], base)).code).toBe(2)

        const state = yield* snapshot
        expect(state.providers.find((p) => p.name === "openai")).toMatchObject({ deleted: false, enabled: true })
        const steps = state.audit.filter((row) =>
          row.resource_type === "ai_provider" && row.resource_target === "openai"
        )
        expect(steps.map((row) => [row.action, row.diff["deleted"] ?? null]).sort()).toEqual([
          ["create", null],
          ["delete", true],
          ["write", false]
        ])
      }))

    it.effect("with --on-conflict warn, a conflicting provider is left byte-for-byte unchanged and the missing one inserted", () =>
      Effect.gen(function*() {
        yield* resetDatabase
        yield* cli(["seed"], { CODER_AIBRIDGE_OPENAI_KEY: openaiKey })
        const before = yield* rowText("openai")
        const warned = yield* cli(["seed", "--on-conflict", "warn", "--format", "json"], changed)
        expect(warned.code).toBe(0)
        const report = JSON.parse(warned.stdout)
        expect(report.providers.map((p: { name: string; action: string }) => [p.name, p.action])).toEqual([
          ["anthropic", "inserted"],
          ["openai", "conflict"]
        ])
        expect(report.providers[1].differences.map((d: { field: string }) => d.field)).toEqual(["base_url"])
        expect(report.providers[1].warnings[0]).toContain("left untouched")
        expect(yield* rowText("openai")).toBe(before)
        expect((yield* snapshot).providers.map((p) => p.name)).toEqual(["anthropic", "openai"])

        // The same policy from the environment variable.
        const fromEnv = yield* cli(["seed"], { ...changed, AI_PROVIDER_SEED_ON_CONFLICT: "warn" })
        expect(fromEnv.code).toBe(0)
        expect(fromEnv.stdout).toMatch(/conflict\s+openai/)
      }))

    it.effect("adopt waits for the seed lock: it serializes with a seed holding it", () =>
      Effect.gen(function*() {
        yield* resetDatabase
        yield* cli(["seed"], base)
        const lock = yield* SeedLock
        const held = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const seeding = yield* lock.withLock(
          Effect.zipRight(Deferred.succeed(held, undefined), Deferred.await(release))
        )
          .pipe(Effect.fork)
        yield* Deferred.await(held)
        const adopting = yield* Effect.fork(cli(["providers", "adopt", "openai", "--yes"], changed))
        // The state that matters: adopt is queued behind the held lock, not merely slow to start.
        yield* awaitRow("adopt waiting for the seed lock", (sql) =>
          sql`select l.pid from pg_locks l join pg_database d on d.oid = l.database
          where l.locktype = 'advisory' and l.objid = 10 and not l.granted and d.datname = current_database()`)
        expect(adopting.unsafePoll()).toBeNull()
        expect(yield* rowText("openai")).toContain("https://api.openai.com/v1/")
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(seeding)
        expect((yield* Fiber.join(adopting)).code).toBe(0)
        expect(yield* rowText("openai")).toContain("https://proxy.internal/v1/")
      }))
  }
)
