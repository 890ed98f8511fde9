import { describe, expect, it } from "@effect/vitest"
import type { Layer } from "effect"
import { ConfigProvider, Effect, Fiber, Ref, TestClock } from "effect"
import { SystemActorId } from "../../../src/audit/Audit.js"
import { LockHolder } from "../../../src/db/AdvisoryLock.js"
import { DatabaseError } from "../../../src/db/DatabaseError.js"
import { derive } from "../../../src/env/DesiredProviders.js"
import { ProviderEnvironment } from "../../../src/env/ProviderEnvironment.js"
import { Seeder, type SeedOptions } from "../../../src/seed/Seeder.js"
import * as InMemoryDatabase from "../../support/InMemoryDatabase.js"
import { withRecordedSpans } from "../../support/RecordingTracer.js"

const openaiKey = "sk-unit-canary-openai-000111222"
const at = new Date("2026-01-01T00:00:00.000Z")

const storedOpenai = (
  overrides: Partial<InMemoryDatabase.ProviderTableRow> = {}
): InMemoryDatabase.ProviderTableRow => ({
  id: "7f1f0000-0000-4000-8000-000000000001",
  type: "openai",
  name: "openai",
  display_name: "openai",
  enabled: true,
  deleted: false,
  base_url: "https://api.openai.com/v1/",
  settings: null,
  created_at: at,
  ...overrides
})

/** What the program and the server layer do: derive from the environment, then seed. */
const run = (
  env: Record<string, string>,
  database: { readonly layer: Layer.Layer<Seeder> },
  options: SeedOptions = {}
) =>
  Effect.flatMap(derive, (desired) => Effect.flatMap(Seeder, (seeder) => seeder.seed(desired, options))).pipe(
    Effect.provide(database.layer),
    Effect.provide(ProviderEnvironment.Default),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
  )

const legacy = { CODER_AIBRIDGE_OPENAI_KEY: openaiKey }

describe("seed orchestration (Layer mocks, TestClock)", () => {
  it.effect("no stored row: inserts the provider and its key, audited by the system actor at the Clock's time", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-11-29T12:00:00.000Z"))
      const db = yield* InMemoryDatabase.make()
      const report = yield* run(legacy, db)
      const state = yield* Ref.get(db.state)
      expect(report.providers.map((p) => [p.name, p.action, p.keys_inserted])).toEqual([["openai", "inserted", 1]])
      expect(state.providers.map((p) => [p.name, p.created_at.toISOString()])).toEqual([
        ["openai", "2026-11-29T12:00:00.000Z"]
      ])
      expect(state.keys.map((k) => k.api_key)).toEqual([openaiKey])
      expect(state.audit.map((a) => [a.action, a.resource_type, a.user_id, a.request_id])).toEqual([
        ["create", "ai_provider", SystemActorId, report.request_id],
        ["create", "ai_provider_key", SystemActorId, report.request_id]
      ])
      expect(JSON.stringify(state.audit)).not.toContain(openaiKey)
      expect(state.transactions).toEqual(["committed"])
    }))

  it.effect("live row with an equal hash: nothing written, in either enabled state", () =>
    Effect.gen(function*() {
      for (const enabled of [true, false]) {
        const stored = storedOpenai({ enabled })
        const db = yield* InMemoryDatabase.make({
          providers: [stored],
          keys: [{ id: "k1", provider_id: stored.id, api_key: openaiKey }]
        })
        const report = yield* run(legacy, db)
        const state = yield* Ref.get(db.state)
        expect(report.providers.map((p) => [p.action, p.warnings])).toEqual([["unchanged", []]])
        expect(state.calls).toEqual(["load"])
        expect(state.providers).toEqual([stored])
      }
    }))

  it.effect("live row with an equal hash but other keys: a masked drift warning, nothing written", () =>
    Effect.gen(function*() {
      const stored = storedOpenai()
      const db = yield* InMemoryDatabase.make({
        providers: [stored],
        keys: [{ id: "k1", provider_id: stored.id, api_key: "sk-stored-canary-key-0000" }]
      })
      const report = yield* run(legacy, db)
      expect(report.providers[0]?.warnings).toEqual([
        "the environment's keys differ from the stored keys: the environment has 1 key, 1 not on the other side (#1 sk-u...1222); the database has 1 key, 1 not on the other side (#1 sk-s...0000). The stored keys are kept"
      ])
      expect((yield* Ref.get(db.state)).calls).toEqual(["load"])
    }))

  it.effect("live row with a different hash: HashConflict, and the inserts planned for others are not written", () =>
    Effect.gen(function*() {
      const db = yield* InMemoryDatabase.make({ providers: [storedOpenai({ base_url: "https://old.test/" })] })
      const error = yield* Effect.flip(run({ ...legacy, CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-unit-canary-000" }, db))
      const state = yield* Ref.get(db.state)
      expect(error._tag).toBe("HashConflict")
      expect(error.message).toContain("base_url")
      expect(state.calls).toEqual(["load"])
      expect([state.providers.length, state.keys.length, state.audit.length]).toEqual([1, 0, 0])
      expect(state.transactions).toEqual(["rolled back"])
    }))

  it.effect("soft-deleted row: skipped with a warning, never resurrected", () =>
    Effect.gen(function*() {
      const db = yield* InMemoryDatabase.make({
        providers: [storedOpenai({ deleted: true, base_url: "https://x.test/" })]
      })
      const report = yield* run(legacy, db)
      expect(report.providers.map((p) => p.action)).toEqual(["skipped_deleted"])
      expect(report.providers[0]?.warnings[0]).toContain("soft-deleted")
      expect((yield* Ref.get(db.state)).providers).toHaveLength(1)
    }))

  it.effect("a failure after some inserts were made rolls back: nothing written, nothing audited", () =>
    Effect.gen(function*() {
      const failure = new DatabaseError({ step: "insert providers, keys and audit rows", reason: "disk full" })
      const db = yield* InMemoryDatabase.make({}, { failOn: { method: "insert", error: failure } })
      const error = yield* Effect.flip(run({ ...legacy, CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-unit-canary-000" }, db))
      const state = yield* Ref.get(db.state)
      expect(error._tag).toBe("DatabaseError")
      expect(error.message).toBe(failure.message)
      expect(state.calls).toEqual(["load", "insert"])
      expect([state.providers.length, state.keys.length, state.audit.length]).toEqual([0, 0, 0])
      expect(state.transactions).toEqual(["rolled back"])
    }))

  it.effect("a dry run decides, reports `planned` and rolls back without writing", () =>
    Effect.gen(function*() {
      const db = yield* InMemoryDatabase.make()
      const report = yield* run(legacy, db, { dryRun: true })
      const state = yield* Ref.get(db.state)
      expect(report.outcome).toBe("planned")
      expect(report.providers.map((p) => p.action)).toEqual(["inserted"])
      expect(state.calls).toEqual(["load"])
      expect(state.transactions).toEqual(["rolled back"])
    }))

  it.effect("an empty environment takes no lock and opens no transaction", () =>
    Effect.gen(function*() {
      const db = yield* InMemoryDatabase.make({}, { lockHeldBy: [] })
      const report = yield* run({}, db)
      expect(report.providers).toEqual([])
      expect(yield* Ref.get(db.state)).toEqual(InMemoryDatabase.emptyState)
    }))

  it.effect("the report counts the actions and says how long the run waited for the lock", () =>
    Effect.gen(function*() {
      const db = yield* InMemoryDatabase.make({ providers: [storedOpenai({ deleted: true })] }, {
        lockGrantedAfter: "1200 millis"
      })
      const fiber = yield* Effect.fork(run({
        ...legacy,
        CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-unit-canary-000",
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "copilot"
      }, db))
      yield* TestClock.adjust("1200 millis")
      const report = yield* Fiber.join(fiber)
      expect(report.lock_wait_ms).toBe(1200)
      expect(report.counts).toEqual({ inserted: 1, unchanged: 0, skipped_deleted: 1, conflict: 0, skipped_unknown: 1 })
    }))

  it.effect("each phase of a run has its span: derive, lock wait, load, decide, write, commit", () =>
    Effect.gen(function*() {
      const db = yield* InMemoryDatabase.make()
      const [, spans] = yield* withRecordedSpans(run(legacy, db))
      const phases = ["Seed.derive", "SeedLock.acquire", "Seed.load", "Seed.decide", "Seed.write", "SeedLock.commit"]
      expect(spans.filter((name) => phases.includes(name))).toEqual(phases)
      expect(spans).toContain("Seed.seed")
    }))

  it.effect("with --on-conflict warn, a conflict is reported and left alone while missing providers are inserted", () =>
    Effect.gen(function*() {
      const conflicting = storedOpenai({ base_url: "https://old.test/" })
      const db = yield* InMemoryDatabase.make({ providers: [conflicting] })
      const report = yield* run({ ...legacy, CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-unit-canary-000" }, db, {
        onConflict: "warn"
      })
      const state = yield* Ref.get(db.state)
      expect(report.providers.map((p) => [p.name, p.action])).toEqual([["anthropic", "inserted"], [
        "openai",
        "conflict"
      ]])
      expect(report.providers[1]?.differences.map((d) => d.field)).toEqual(["base_url"])
      expect(report.providers[1]?.warnings[0]).toContain("left untouched")
      expect(report.counts.conflict).toBe(1)
      expect(state.providers.find((p) => p.name === "openai")).toEqual(conflicting)
      expect(state.providers.map((p) => p.name)).toEqual(["openai", "anthropic"])
      expect(state.transactions).toEqual(["committed"])
    }))

  it.effect("LockTimeout after the configured bound, naming the holders", () =>
    Effect.gen(function*() {
      const holder = new LockHolder({
        pid: 77,
        applicationName: "ai-provider-seed",
        clientAddress: "10.1.2.3",
        transactionStart: at,
        mode: "ExclusiveLock"
      })
      const db = yield* InMemoryDatabase.make({}, { lockHeldBy: [holder] })
      const fiber = yield* Effect.fork(run(legacy, db, { lockTimeout: "2 seconds" }))
      yield* TestClock.adjust("2 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error._tag).toBe("LockTimeout")
      expect(error.message).toContain("pid 77")
      expect((yield* Ref.get(db.state)).calls).toEqual([])
    }))

  it.effect("configuration errors and collisions fail before any database access", () =>
    Effect.gen(function*() {
      const db = yield* InMemoryDatabase.make()
      const invalid = yield* Effect.flip(
        run({ CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_NAME: "Bad Name" }, db)
      )
      expect(invalid._tag).toBe("InvalidConfiguration")
      expect(invalid.message).toContain("CODER_AIBRIDGE_PROVIDER_0_NAME")
      const collision = yield* Effect.flip(run({ ...legacy, CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai" }, db))
      expect(collision._tag).toBe("IndexedNameCollision")
      expect((yield* Ref.get(db.state)).calls).toEqual([])
    }))

  it.effect("a configured provider whose stored settings do not decode fails naming the provider and the reason", () =>
    Effect.gen(function*() {
      const db = yield* InMemoryDatabase.make({
        providers: [storedOpenai({ settings: JSON.stringify({ _type: "vertex" }) })]
      })
      const error = yield* Effect.flip(run(legacy, db))
      expect(error._tag).toBe("UnreadableStoredProvider")
      expect(error.message).toContain("\"openai\"")
      expect(error.message).toContain("_type \"vertex\"")
    }))
})
