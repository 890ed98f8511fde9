/**
 * One run shows every problem and every decision (issue 15, part 1): all conflicting providers in one
 * HashConflict (message, text and JSON), a failed run's report with every decision it computed, a dry
 * run that is a plan (exit 3 when it holds a conflict, nothing written), and the near-miss hints.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { runCli } from "../../support/runCli.js"
import { resetDatabase, snapshot } from "../../support/Seeding.js"
import * as TestDatabase from "../../support/TestDatabase.js"

const stored = {
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_0_NAME: "alpha",
  CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-plan-alpha-0000111122223333",
  CODER_AIBRIDGE_PROVIDER_1_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_1_NAME: "beta",
  CODER_AIBRIDGE_PROVIDER_1_BASE_URL: "https://beta.example/v1/",
  CODER_AIBRIDGE_PROVIDER_1_KEY: "sk-plan-beta-0000111122223333",
  CODER_AIBRIDGE_PROVIDER_2_TYPE: "anthropic",
  CODER_AIBRIDGE_PROVIDER_2_NAME: "gamma",
  CODER_AIBRIDGE_PROVIDER_2_KEY: "sk-plan-gamma-0000111122223333",
  CODER_AIBRIDGE_PROVIDER_3_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_3_NAME: "delta",
  CODER_AIBRIDGE_PROVIDER_3_KEY: "sk-plan-delta-0000111122223333"
}

/** Three providers differ: a trailing slash, a host's letter case with a default port, a real change. */
const changed = {
  ...stored,
  CODER_AIBRIDGE_PROVIDER_0_BASE_URL: "https://api.openai.com/v1",
  CODER_AIBRIDGE_PROVIDER_1_BASE_URL: "https://Beta.Example:443/v1/",
  CODER_AIBRIDGE_PROVIDER_2_BASE_URL: "https://proxy.example/anthropic/",
  CODER_AIBRIDGE_PROVIDER_4_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_4_NAME: "epsilon",
  CODER_AIBRIDGE_PROVIDER_4_KEY: "sk-plan-epsilon-0000111122223333",
  CODER_AIBRIDGE_PROVIDER_5_TYPE: "copilot",
  CODER_AIBRIDGE_PROVIDER_5_KEY: "sk-plan-copilot-0000111122223333"
}

const cli = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.flatMap(
    TestDatabase.TestDatabase,
    ({ url }) => runCli(args, { ...env, DATABASE_URL: Redacted.value(url) })
  )

layer(TestDatabase.layer(), { excludeTestServices: true })("the plan", (it) => {
  it.effect("three conflicts in one run: the message, the text and the JSON report name them all, with every decision", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      expect((yield* cli(["seed"], stored)).code).toBe(0)
      const before = yield* snapshot

      const failed = yield* cli(["seed", "--format", "json"], changed)
      expect(failed.code, failed.all).toBe(3)
      const report = JSON.parse(failed.stdout)
      expect(report.outcome).toBe("failed")
      expect(report.error.provider).toBe("alpha")
      expect(report.error.conflicts.map((c: { provider: string }) => c.provider)).toEqual(["alpha", "beta", "gamma"])
      // Every decision the run computed, and the counts.
      expect(report.providers.map((p: { name: string; action: string }) => [p.name, p.action])).toEqual([
        ["alpha", "conflict"],
        ["beta", "conflict"],
        ["delta", "unchanged"],
        ["epsilon", "inserted"],
        ["gamma", "conflict"]
      ])
      expect(report.counts).toMatchObject({ inserted: 1, unchanged: 1, conflict: 3, skipped_unknown: 1 })
      // What the environment held: the skipped type and its warning, as in an applied run's report.
      expect(report.skipped.map((s: { name: string }) => s.name)).toEqual(["copilot"])
      expect(report.warnings.join("\n")).toContain("CODER_AIBRIDGE_PROVIDER_5_TYPE")
      for (const name of ["alpha", "beta", "gamma"]) expect(failed.stderr).toContain(`"${name}"`)
      expect(failed.stderr).toContain("providers adopt NAME --yes")
      expect(failed.stderr).toContain("providers delete NAME")
      expect(failed.stderr).toContain("--on-conflict warn")
      expect(failed.stderr).not.toContain("in the database; then restart")

      // The near misses say what differs, and are still conflicts.
      const differences = (name: string) =>
        report.providers.find((p: { name: string }) => p.name === name).differences[0]
      expect(differences("alpha").hint).toBe("differs only by a trailing slash")
      expect(differences("beta").hint).toBe("differs only by the letter case of the scheme or host and a default port")
      expect(differences("gamma").hint).toBeUndefined()
      expect(failed.stderr).toContain("differs only by a trailing slash")

      // The text report of the same failure: the message on stderr lists all three.
      const text = yield* cli(["seed"], changed)
      expect(text.code).toBe(3)
      for (const name of ["alpha", "beta", "gamma"]) expect(text.stderr).toContain(`"${name}"`)
      expect(yield* snapshot).toEqual(before)
    }))

  it.effect("--dry-run is a plan: outcome planned, every action, exit 3 with a conflict and 0 without; nothing written", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      expect((yield* cli(["seed"], stored)).code).toBe(0)
      const before = yield* snapshot

      const planned = yield* cli(["seed", "--dry-run", "--format", "json"], changed)
      expect(planned.code, planned.all).toBe(3)
      const plan = JSON.parse(planned.stdout)
      expect(plan.outcome).toBe("planned")
      expect(plan.counts).toMatchObject({ inserted: 1, unchanged: 1, conflict: 3 })

      const text = yield* cli(["seed", "--dry-run"], changed)
      expect(text.code).toBe(3)
      expect(text.stdout).toContain("Plan (dry run, nothing written")
      expect(text.stdout).toContain("would insert (1):")
      expect(text.stdout).toContain("blocks the start (3):")
      expect(text.stdout).toContain("providers adopt alpha --yes")

      const clean = yield* cli(["seed", "--dry-run"], { ...stored })
      expect(clean.code, clean.all).toBe(0)
      expect(clean.stdout).toContain("Nothing blocks the start.")
      expect(yield* snapshot).toEqual(before)
    }))
})
