import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { runProgram } from "../../support/Program.js"
import { runCli } from "../../support/runCli.js"
import { expectNoSecrets, resetDatabase, snapshot } from "../../support/Seeding.js"
import { holdSeedLockElsewhere } from "../../support/SeedLockHolder.js"
import * as TestDatabase from "../../support/TestDatabase.js"

const openaiKey = "sk-cli-canary-openai-5555666677778888"
const accessSecret = "cli/canary/bedrock/secret/000011112222"
const env = {
  CODER_AIBRIDGE_OPENAI_KEY: openaiKey,
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: "AKIACLICANARY0000000",
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: accessSecret
}
const secrets = [openaiKey, accessSecret, "AKIACLICANARY0000000"]

const program = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
  Effect.flatMap(
    TestDatabase.TestDatabase,
    ({ url }) => Effect.promise(() => runProgram(args, { ...env, DATABASE_URL: Redacted.value(url), ...extra }))
  )

layer(TestDatabase.layer(), { excludeTestServices: true })("ai-provider-seed seed (child process)", (it) => {
  it.effect("--dry-run on an empty database writes nothing and exits 0", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const result = yield* program(["seed", "--dry-run", "--format", "json"])
      expect(result.code).toBe(0)
      const report = JSON.parse(result.stdout)
      expect(report.outcome).toBe("planned")
      expect(report.providers.map((p: { name: string; action: string }) => [p.name, p.action])).toEqual([
        ["anthropic", "inserted"],
        ["openai", "inserted"]
      ])
      const state = yield* snapshot
      expect([state.providers.length, state.keys.length, state.audit.length]).toEqual([0, 0, 0])
      expectNoSecrets([result.stdout, result.stderr], secrets)
    }))

  it.effect("seeds, then exits 3 on a conflict (also in a dry run) with the report's error, writing nothing", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const applied = yield* program(["seed"])
      expect(applied.code).toBe(0)
      expect(applied.stdout).toMatch(/inserted\s+anthropic/)
      expect(applied.stdout).toMatch(/inserted\s+openai/)
      const before = yield* snapshot

      const conflicting = { CODER_AIBRIDGE_OPENAI_BASE_URL: "https://changed.test/v1/" }
      const dry = yield* program(["seed", "--dry-run"], conflicting)
      expect(dry.code).toBe(3)
      expect(dry.stderr).toContain("base_url")
      expect(dry.stderr).toContain("Fix:")
      const failed = yield* program(["seed", "--format", "json"], conflicting)
      expect(failed.code).toBe(3)
      const report = JSON.parse(failed.stdout)
      expect(report.outcome).toBe("failed")
      expect(report.error._tag).toBe("HashConflict")
      expect(report.error.provider).toBe("openai")
      expect(yield* snapshot).toEqual(before)

      const sql = yield* SqlClient.SqlClient
      const audit = yield* sql<{ diff: unknown }>`select diff from audit_logs`
      expectNoSecrets(
        [applied.stdout, applied.stderr, dry.stdout, dry.stderr, failed.stdout, failed.stderr, JSON.stringify(audit)],
        secrets
      )
    }))

  it.effect("invalid configuration exits 2 naming the variable, before touching the database", () =>
    Effect.gen(function*() {
      const result = yield* program(["seed"], {
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_0_KEY: openaiKey,
        CODER_AIBRIDGE_PROVIDER_0_KEYS: openaiKey,
        DATABASE_URL: "postgres://nobody:hunter2@127.0.0.1:1/none"
      })
      expect(result.code).toBe(2)
      expect(result.stderr).toContain("CODER_AIBRIDGE_PROVIDER_0_KEY")
      expectNoSecrets([result.stdout, result.stderr], [...secrets, "hunter2"])
    }))

  it.effect("a held seed lock exits 5 after --lock-timeout, naming the holder", () =>
    Effect.gen(function*() {
      const { url } = yield* TestDatabase.TestDatabase
      const { pid, release } = yield* holdSeedLockElsewhere
      const result = yield* runCli(["seed", "--lock-timeout", "500ms", "--format", "json"], {
        ...env,
        DATABASE_URL: Redacted.value(url)
      })
      yield* release
      expect(result.code).toBe(5)
      expect(result.stderr).toContain(`pid ${pid}`)
      const report = JSON.parse(result.stdout)
      expect(report.error._tag).toBe("LockTimeout")
      expect(report.error.holders.map((h: { pid: number }) => h.pid)).toContain(pid)
      expectNoSecrets([result.all], secrets)
    }))

  it.effect("an unreachable database exits 6 naming host and port, never the password", () =>
    Effect.gen(function*() {
      const result = yield* program(["seed"], { DATABASE_URL: "postgres://seed:hunter2@127.0.0.1:1/providers" })
      expect(result.code).toBe(6)
      expect(result.stderr).toContain("127.0.0.1:1")
      expectNoSecrets([result.stdout, result.stderr], ["hunter2"])
    }))
})
