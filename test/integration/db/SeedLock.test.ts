import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Fiber, Layer } from "effect"
import { LockTimeout, serverGrace } from "../../../src/db/AdvisoryLock.js"
import { pool } from "../../../src/db/Database.js"
import { SeedLock } from "../../../src/db/SeedLock.js"
import { scratchDatabase } from "../../../support/ScratchDatabase.js"
import { holdSeedLockElsewhere } from "../../support/SeedLockHolder.js"
import * as TestDatabase from "../../support/TestDatabase.js"

const Lock = SeedLock.Default.pipe(Layer.provideMerge(TestDatabase.layer()))

/** Whether a fresh session can take lock 10 at once. */
const lockIsFree = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql.withTransaction(sql<{ free: boolean }>`select pg_try_advisory_xact_lock(10) as free`)
  return row?.free
})

layer(Lock, { excludeTestServices: true })("SeedLock on PostgreSQL", (it) => {
  it.effect("times out after the bound with LockTimeout naming the holder, and leaves no waiting request", () =>
    Effect.gen(function*() {
      const lock = yield* SeedLock
      const sql = yield* SqlClient.SqlClient
      const holder = yield* holdSeedLockElsewhere
      const started = Date.now()
      const error = yield* Effect.flip(lock.withLock(Effect.void, { timeout: "500 millis" }))
      const elapsed = Date.now() - started
      yield* holder.release

      expect(error).toBeInstanceOf(LockTimeout)
      if (!(error instanceof LockTimeout)) return
      expect(elapsed).toBeGreaterThanOrEqual(500)
      // The client's bound ended the wait, not the server's lock_timeout (the bound plus the grace); how
      // much longer than the bound the run took (BEGIN, the holders query, ROLLBACK) is the machine's speed.
      expect(elapsed).toBeLessThan(500 + Duration.toMillis(serverGrace))
      expect(error.lockId).toBe("10")
      expect(error.waitedMs).toBeGreaterThanOrEqual(500)
      expect(error.holders.map((h) => h.pid)).toContain(holder.pid)
      expect(error.holders[0]?.applicationName).toBe("ai-provider-seed")
      expect(error.message).toContain(`pid ${holder.pid}`)
      const [waiting] = yield* sql<{ count: string }>`
        select count(*) as count from pg_locks where locktype = 'advisory' and not granted
          and database = (select oid from pg_database where datname = current_database())`
      expect(waiting?.count).toBe("0")
    }))

  it.scoped("names only the holders in its own database: the same lock id in another database is another lock", () =>
    Effect.gen(function*() {
      const lock = yield* SeedLock
      const other = yield* scratchDatabase(TestDatabase.adminUrl(), "seed_lock_other")
      const otherSql = Context.get(yield* Layer.build(pool(other.url, { maxConnections: 2 })), SqlClient.SqlClient)
      const elsewhere = yield* holdSeedLockElsewhere.pipe(Effect.provideService(SqlClient.SqlClient, otherSql))
      const here = yield* holdSeedLockElsewhere
      const error = yield* Effect.flip(lock.withLock(Effect.void, { timeout: "300 millis" }))
      yield* here.release
      yield* elsewhere.release
      expect(error).toBeInstanceOf(LockTimeout)
      if (!(error instanceof LockTimeout)) return
      expect(error.holders.map((holder) => holder.pid)).toEqual([here.pid])
    }))

  it.effect("is released after success, a typed failure, a defect and an interruption", () =>
    Effect.gen(function*() {
      const lock = yield* SeedLock
      const outcomes: Array<string> = []
      yield* lock.withLock(Effect.void)
      outcomes.push(`success: ${yield* lockIsFree}`)
      yield* Effect.flip(lock.withLock(Effect.fail("typed failure")))
      outcomes.push(`failure: ${yield* lockIsFree}`)
      yield* Effect.exit(lock.withLock(Effect.die("defect")))
      outcomes.push(`defect: ${yield* lockIsFree}`)

      const inside = yield* Deferred.make<void>()
      const fiber = yield* lock.withLock(Effect.zipRight(Deferred.succeed(inside, undefined), Effect.never)).pipe(
        Effect.fork
      )
      yield* Deferred.await(inside)
      outcomes.push(`while held: ${yield* lockIsFree}`)
      yield* Fiber.interrupt(fiber)
      outcomes.push(`interrupted: ${yield* lockIsFree}`)

      expect(outcomes).toEqual([
        "success: true",
        "failure: true",
        "defect: true",
        "while held: false",
        "interrupted: true"
      ])
    }))

  it.effect("shared holders (readers) do not wait for each other but exclude a seed", () =>
    Effect.gen(function*() {
      const lock = yield* SeedLock
      const inside = yield* Deferred.make<void>()
      const reader = yield* lock.withLock(Effect.zipRight(Deferred.succeed(inside, undefined), Effect.never), {
        mode: "shared",
        readOnly: true
      }).pipe(Effect.fork)
      yield* Deferred.await(inside)
      const secondReader = yield* lock.withLock(Effect.succeed("read"), { mode: "shared", timeout: "2 seconds" })
      const seed = yield* Effect.flip(lock.withLock(Effect.void, { timeout: "300 millis" }))
      yield* Fiber.interrupt(reader)
      expect(secondReader).toBe("read")
      expect(seed._tag).toBe("LockTimeout")
    }))
})
