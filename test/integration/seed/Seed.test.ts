import { SqlClient, Statement } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted, Ref } from "effect"
import { SystemActorId } from "../../../src/audit/Audit.js"
import type { HashConflict } from "../../../src/core/Errors.js"
import { ProviderReader } from "../../../src/db/ProviderReader.js"
import { expectNoSecrets, logLines, resetDatabase, runSeed, snapshot } from "../../support/Seeding.js"
import * as TestDatabase from "../../support/TestDatabase.js"

// Canary secrets: long enough that the mask shows only their ends.
const openaiKey = "sk-openai-canary-0123456789abcdef"
const rotatedKey = "sk-openai-canary-rotated-99999999"
const anthropicKey = "sk-ant-canary-fedcba9876543210"
const accessKey = "AKIACANARYACCESSKEY01"
const accessSecret = "canary/secret/access/key/0123456789"
const secrets = [openaiKey, rotatedKey, anthropicKey, accessKey, accessSecret]

const legacyOpenai = { CODER_AIBRIDGE_OPENAI_KEY: openaiKey }
const bedrock = {
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: accessKey,
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: accessSecret,
  CODER_AIBRIDGE_BEDROCK_REGION: "us-east-1",
  CODER_AIBRIDGE_BEDROCK_MODEL: "anthropic.claude-sonnet"
}

const auditText = Effect.map(snapshot, ({ audit }) => JSON.stringify(audit))

layer(TestDatabase.layer(), { excludeTestServices: true })("seed on PostgreSQL", (it) => {
  it.effect("an empty environment is a no-op", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const report = yield* runSeed({})
      expect(report.providers).toEqual([])
      expect(report.request_id).toBeNull()
      const state = yield* snapshot
      expect([state.providers.length, state.keys.length, state.audit.length]).toEqual([0, 0, 0])
    }))

  it.effect("legacy OpenAI inserts one provider, one key and two audit rows; a second run changes nothing", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const first = yield* runSeed(legacyOpenai)
      expect(first.providers.map((p) => [p.name, p.action, p.keys_inserted])).toEqual([["openai", "inserted", 1]])
      const state = yield* snapshot
      expect(state.providers).toMatchObject([{
        name: "openai",
        type: "openai",
        display_name: "openai",
        enabled: true,
        deleted: false,
        base_url: "https://api.openai.com/v1/",
        settings: null
      }])
      expect(state.keys).toEqual([{ name: "openai", api_key: openaiKey }])
      expect(state.audit.map((row) => [row.action, row.resource_type, row.resource_target, row.user_id])).toEqual([
        ["create", "ai_provider", "openai", SystemActorId],
        ["create", "ai_provider_key", "openai", SystemActorId]
      ])
      expect(new Set(state.audit.map((row) => row.request_id))).toEqual(new Set([first.request_id]))
      expect(state.audit[1]?.diff).toEqual({ provider: "openai", api_key: "sk-o...cdef" })

      const second = yield* runSeed(legacyOpenai)
      expect(second.providers.map((p) => p.action)).toEqual(["unchanged"])
      expect(yield* snapshot).toEqual(state)
      expectNoSecrets([yield* auditText, JSON.stringify([first, second])], secrets)
    }))

  it.effect("rotating the env key is a masked warning and keeps the stored key; a new base URL is a HashConflict", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      yield* runSeed(legacyOpenai)
      const before = yield* snapshot
      const rotated = yield* runSeed({ CODER_AIBRIDGE_OPENAI_KEY: rotatedKey })
      expect(rotated.providers[0]?.action).toBe("unchanged")
      expect(rotated.providers[0]?.warnings.join(" ")).toContain("sk-o...9999")
      expect(logLines.join("\n")).toContain("sk-o...9999")
      expect(yield* snapshot).toEqual(before)

      const conflict = yield* Effect.flip(
        runSeed({ ...legacyOpenai, CODER_AIBRIDGE_OPENAI_BASE_URL: "https://proxy.internal/v1/" })
      )
      expect(conflict._tag).toBe("HashConflict")
      expect((conflict as HashConflict).differences.map((d) => d.field)).toEqual(["base_url"])
      expect(conflict.message).toContain("openai")
      expect(yield* snapshot).toEqual(before)
      expectNoSecrets([JSON.stringify(rotated), conflict.message], secrets)
    }))

  it.effect("Bedrock credentials produce a settings blob and no keys; a changed secret conflicts without its value", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const report = yield* runSeed(bedrock)
      expect(report.providers.map((p) => [p.name, p.type, p.action, p.keys_inserted])).toEqual([
        ["anthropic", "anthropic", "inserted", 0]
      ])
      const state = yield* snapshot
      expect(state.providers[0]?.settings).toEqual({
        _type: "bedrock",
        _version: 1,
        region: "us-east-1",
        model: "anthropic.claude-sonnet",
        access_key: accessKey,
        access_key_secret: accessSecret
      })
      expect(state.keys).toEqual([])

      const changed = "canary/secret/rotated/key/9876543210"
      const conflict = yield* Effect.flip(runSeed({ ...bedrock, CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: changed }))
      expect(conflict._tag).toBe("HashConflict")
      expect((conflict as HashConflict).differences).toEqual([{ field: "bedrock.access_key_secret", secret: true }])
      expectNoSecrets([conflict.message, JSON.stringify(conflict), yield* auditText], [...secrets, changed])
    }))

  it.effect("an Anthropic key with a Bedrock region but no credentials stores no settings", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const report = yield* runSeed({
        CODER_AIBRIDGE_ANTHROPIC_KEY: anthropicKey,
        CODER_AIBRIDGE_BEDROCK_REGION: "eu-west-1"
      })
      expect(report.warnings.join(" ")).toContain("CODER_AIBRIDGE_BEDROCK_REGION")
      const state = yield* snapshot
      expect(state.providers.map((p) => [p.name, p.settings, p.base_url])).toEqual([
        ["anthropic", null, "https://api.anthropic.com/"]
      ])
      expect(state.keys).toEqual([{ name: "anthropic", api_key: anthropicKey }])
    }))

  it.effect("an unknown type is skipped and the others are seeded", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const report = yield* runSeed({
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "copilot",
        CODER_AIBRIDGE_PROVIDER_0_KEY: "copilot-canary-key-000",
        CODER_AIBRIDGE_PROVIDER_1_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_1_NAME: "team-openai",
        CODER_AIBRIDGE_PROVIDER_1_KEY: openaiKey
      })
      expect(report.skipped).toMatchObject([{ name: "copilot", type: "copilot" }])
      expect(report.skipped[0]?.source).toContain("CODER_AIBRIDGE_PROVIDER_0_TYPE")
      expect((yield* snapshot).providers.map((p) => p.name)).toEqual(["team-openai"])
    }))

  it.effect("a soft-deleted provider is not resurrected and a disabled one stays disabled", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const sql = yield* SqlClient.SqlClient
      yield* runSeed({ ...legacyOpenai, CODER_AIBRIDGE_ANTHROPIC_KEY: anthropicKey })
      yield* sql`update ai_providers set deleted = true, enabled = false where name = 'openai'`
      yield* sql`update ai_providers set enabled = false where name = 'anthropic'`
      const before = yield* snapshot
      const report = yield* runSeed({ ...legacyOpenai, CODER_AIBRIDGE_ANTHROPIC_KEY: anthropicKey })
      expect(report.providers.map((p) => [p.name, p.action])).toEqual([
        ["anthropic", "unchanged"],
        ["openai", "skipped_deleted"]
      ])
      expect(yield* snapshot).toEqual(before)
    }))

  it.effect("a provider created outside the seed is untouched", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const sql = yield* SqlClient.SqlClient
      yield* sql`insert into ai_providers (id, type, name, display_name, base_url, created_at, updated_at)
        values (gen_random_uuid(), 'openai', 'by-hand', 'By hand', 'https://example.test/', now(), now())`
      const before = yield* snapshot
      yield* runSeed(legacyOpenai)
      const after = yield* snapshot
      expect(after.providers.find((p) => p.name === "by-hand")).toEqual(before.providers[0])
      expect(after.audit.map((row) => row.resource_target)).not.toContain("by-hand")
    }))

  it.effect("a conflict on one provider rolls back the inserts planned for the others", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      yield* runSeed({ CODER_AIBRIDGE_ANTHROPIC_KEY: anthropicKey })
      const before = yield* snapshot
      const error = yield* Effect.flip(runSeed({
        CODER_AIBRIDGE_ANTHROPIC_KEY: anthropicKey,
        CODER_AIBRIDGE_ANTHROPIC_BASE_URL: "https://elsewhere.test/",
        ...legacyOpenai,
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_0_NAME: "zeta",
        CODER_AIBRIDGE_PROVIDER_0_KEY: rotatedKey
      }))
      expect(error._tag).toBe("HashConflict")
      expect(yield* snapshot).toEqual(before)
    }))

  it.effect("two seeds started together on an empty database both succeed and write everything once", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const env = {
        ...legacyOpenai,
        ...bedrock,
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_0_NAME: "second-openai",
        CODER_AIBRIDGE_PROVIDER_0_KEYS: `${rotatedKey},another-canary-key-1234567`
      }
      const reports = yield* Effect.all([runSeed(env), runSeed(env)], { concurrency: 2 })
      const actions = reports.map((report) => report.providers.map((p) => p.action).join(","))
      expect(actions.sort()).toEqual(["inserted,inserted,inserted", "unchanged,unchanged,unchanged"])
      const state = yield* snapshot
      expect(state.providers.map((p) => p.name)).toEqual(["anthropic", "openai", "second-openai"])
      expect(state.keys).toHaveLength(3)
      expect(state.audit).toHaveLength(6)
    }))

  it.effect(
    "a first seed of 4,500 providers is written 500 at a time in its one transaction: a failing last part leaves nothing",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const sql = yield* SqlClient.SqlClient
        const env: Record<string, string> = {}
        for (let i = 0; i < 4500; i++) {
          env[`CODER_AIBRIDGE_PROVIDER_${i}_TYPE`] = "openai"
          env[`CODER_AIBRIDGE_PROVIDER_${i}_NAME`] = `bulk-${i}`
          env[`CODER_AIBRIDGE_PROVIDER_${i}_KEY`] = "sk-bulk-canary-0123456789abcdef"
        }
        const inserts = yield* Ref.make(0)
        const countingInserts = Statement.withTransformer((statement) =>
          Effect.as(
            Ref.update(inserts, (n) => statement.compile()[0].includes("insert into ai_providers") ? n + 1 : n),
            statement
          )
        )
        // PostgreSQL refuses the last insert statement (the ninth), once eight parts (4,000 providers) are in.
        yield* sql.unsafe(`create or replace function refuse_last_part() returns trigger language plpgsql as $$
        begin
          if (select count(*) from ai_providers) >= 4000 then raise exception 'the test refuses this part'; end if;
          return null;
        end $$`)
        yield* sql`drop trigger if exists refuse_last_part on ai_providers`
        yield* sql`create trigger refuse_last_part before insert on ai_providers
        for each statement execute function refuse_last_part()`
        const dropTrigger = sql`drop function refuse_last_part() cascade`.pipe(Effect.orDie)
        // Outcomes as short strings: a failing assertion must not diff a report of 4,500 providers.
        const outcome = Effect.match({
          onFailure: (error: { readonly _tag: string; readonly message: string }) => `${error._tag}: ${error.message}`,
          onSuccess: (report: { readonly counts: { readonly inserted: number } | null }) =>
            `applied, ${report.counts?.inserted} inserted`
        })
        const failed = yield* runSeed(env).pipe(countingInserts, outcome, Effect.ensuring(dropTrigger))
        expect(failed).toMatch(/^DatabaseError: .*the test refuses this part/)
        expect(yield* Ref.get(inserts)).toBe(9)
        const empty = yield* snapshot
        expect([empty.providers.length, empty.keys.length, empty.audit.length]).toEqual([0, 0, 0])

        yield* Ref.set(inserts, 0)
        expect(yield* runSeed(env).pipe(countingInserts, outcome)).toBe("applied, 4500 inserted")
        expect(yield* Ref.get(inserts)).toBe(9)
        const state = yield* snapshot
        expect([state.providers.length, state.keys.length, state.audit.length]).toEqual([4500, 4500, 9000])
        expect(new Set(state.audit.map((row) => row.request_id)).size).toBe(1)
      }),
    { timeout: 60_000 }
  )

  it.effect("a provider's keys are read back, as the runtime reads them, in the environment's order", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      // Enough keys that random ids would put them out of order (1 in 120 chance of passing by luck).
      const keys = Array.from({ length: 5 }, (_, i) => `sk-ordered-canary-${i}-0123456789abcdef`)
      yield* runSeed({
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_0_NAME: "ordered",
        CODER_AIBRIDGE_PROVIDER_0_KEYS: keys.join(",")
      })
      const live = yield* Effect.flatMap(ProviderReader, (reader) => reader.live()).pipe(
        Effect.provide(ProviderReader.Default)
      )
      expect(live.map((provider) => provider.keys.map(Redacted.value))).toEqual([keys])
    }))

  it.effect("a dry run writes nothing, and plans the conflict it would hit instead of failing", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const planned = yield* runSeed(legacyOpenai, { dryRun: true })
      expect(planned.outcome).toBe("planned")
      expect(planned.providers.map((p) => [p.name, p.action])).toEqual([["openai", "inserted"]])
      const state = yield* snapshot
      expect([state.providers.length, state.keys.length, state.audit.length]).toEqual([0, 0, 0])

      yield* runSeed(legacyOpenai)
      const plan = yield* runSeed({ ...legacyOpenai, CODER_AIBRIDGE_OPENAI_BASE_URL: "https://other.test/" }, {
        dryRun: true
      })
      expect(plan.outcome).toBe("planned")
      expect(plan.providers.map((p) => [p.name, p.action])).toEqual([["openai", "conflict"]])
      expect(plan.counts.conflict).toBe(1)
      expect((yield* snapshot).providers.map((p) => p.base_url)).toEqual(["https://api.openai.com/v1/"])
    }))
})
