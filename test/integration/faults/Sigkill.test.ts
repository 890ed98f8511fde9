/**
 * SIGKILL a seeder while it inserts thousands of providers (issue 6), at random moments and, by
 * construction, inside its transaction: the database holds all of that run's rows or none, never a part,
 * and the next run succeeds.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Random, Redacted } from "effect"
import { completion, start } from "../../support/Program.js"
import { resetDatabase } from "../../support/Seeding.js"
import * as TestDatabase from "../../support/TestDatabase.js"
import {
  blockSeedWrites,
  complete,
  counts,
  expectAllOrNone,
  expectNoCanaries,
  largeEnvFile,
  none,
  seedBlockedInside,
  seedLockHeld,
  waitUntil
} from "./Faults.js"

const providers = 3000

layer(TestDatabase.layer(), { excludeTestServices: true })("SIGKILL during a large seed", (it) => {
  it.effect("all or nothing after each kill, and the next run completes", () =>
    Effect.gen(function*() {
      const { name, url } = yield* TestDatabase.TestDatabase
      const env = yield* largeEnvFile("kill", providers)
      // A lock timeout longer than any wait here: the server-side lock_timeout it sets must not end a blocked run.
      const args = ["seed", "--format", "json", "--dotenv", env.path, "--lock-timeout", "5m"]
      const programEnv = { DATABASE_URL: Redacted.value(url) }
      const outcomes: Array<string> = []
      let killedHoldingLock = 0
      // Even attempts: a random moment after the start (connecting, migrating, deriving, inserting, or
      // already done). Odd attempts: inside the transaction, by construction: the seed's writes are blocked
      // from before it starts, so it holds the seed lock and waits at its first insert when it is killed.
      for (let attempt = 0; attempt < 4; attempt++) {
        const inside = attempt % 2 === 1
        const { holding, killed } = yield* Effect.scoped(Effect.gen(function*() {
          if (inside) yield* blockSeedWrites(url)
          const child = start(args, programEnv)
          const done = Effect.promise(() => completion(child))
          if (inside) {
            yield* waitUntil("the seed holds the lock and waits to write", seedBlockedInside(name), "90 seconds")
          } else {
            yield* Effect.sleep(yield* Random.nextIntBetween(200, 4000))
          }
          const holding = yield* seedLockHeld(name)
          child.kill("SIGKILL")
          const killed = yield* done
          if (inside) expect(holding, `attempt ${attempt}`).toBe(true)
          return { holding, killed }
        }))
        if (killed.code === null && holding) killedHoldingLock++
        // The server rolls the killed session back, releasing the lock, once it notices the closed socket.
        yield* waitUntil(
          "the killed session released the lock",
          Effect.map(seedLockHeld(name), (held) => !held),
          "30 seconds"
        )
        const afterKill = yield* counts
        expectAllOrNone(afterKill, providers, `attempt ${attempt} (exit ${killed.code}, lock held: ${holding})`)
        outcomes.push(
          `attempt ${attempt}: ${
            killed.code === null ? "killed" : `exited ${killed.code}`
          }, ${afterKill.providers} rows`
        )

        const next = yield* Effect.promise(() => completion(start(args, programEnv)))
        expect(next.code, next.stderr.slice(-2000)).toBe(0)
        const report = JSON.parse(next.stdout)
        expect(report.counts.inserted + report.counts.unchanged).toBe(providers + 1)
        expect(yield* counts).toEqual(complete(providers))
        yield* expectNoCanaries([killed.stdout, killed.stderr, next.stdout, next.stderr], env.secrets)
        yield* resetDatabase
        expect(yield* counts).toEqual(none)
      }
      // The odd attempts kill inside the transaction by construction.
      expect(killedHoldingLock, outcomes.join("; ")).toBeGreaterThanOrEqual(2)
    }).pipe(Effect.scoped), { timeout: 240_000 })
})
