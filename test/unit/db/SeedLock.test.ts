import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { DatabaseError } from "../../../src/db/DatabaseError.js"
import { LockHolder, type LockPrimitives, LockTimeout, make } from "../../../src/db/SeedLock.js"

const holder = new LockHolder({
  pid: 4242,
  applicationName: "ai-provider-seed",
  clientAddress: "10.0.0.7",
  transactionStart: new Date("2026-11-29T00:00:00.000Z"),
  mode: "ExclusiveLock"
})

/** A database where somebody else holds the lock forever. */
const contended: LockPrimitives = {
  transaction: (body) => body,
  begin: () => Effect.void,
  acquire: () => Effect.never,
  holders: Effect.succeed([holder])
}

describe("SeedLock bound (TestClock)", () => {
  it.effect("fails with LockTimeout exactly at the bound, naming the holders", () =>
    Effect.gen(function*() {
      const lock = make(contended)
      const fiber = yield* Effect.fork(lock.withLock(Effect.succeed("seeded"), { timeout: "500 millis" }))
      yield* TestClock.adjust("499 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toBeInstanceOf(LockTimeout)
      expect(error).toMatchObject({ lockId: "10", waitedMs: 500, holders: [holder] })
      expect((error as LockTimeout).message).toContain("pid 4242 (application \"ai-provider-seed\", client 10.0.0.7")
    }))

  it.effect("runs the body once the lock is granted within the bound", () =>
    Effect.gen(function*() {
      const lock = make({ ...contended, acquire: () => Effect.sleep("200 millis") })
      const fiber = yield* Effect.fork(lock.withLock(Effect.succeed("seeded"), { timeout: "500 millis" }))
      yield* TestClock.adjust("200 millis")
      expect(yield* Fiber.join(fiber)).toBe("seeded")
    }))

  it.effect("the default bound is 30 seconds", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(make(contended).withLock(Effect.void))
      yield* TestClock.adjust("29999 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect((yield* Effect.flip(Fiber.join(fiber)))._tag).toBe("LockTimeout")
    }))
})

describe("SeedLock when the connection dies (COMMIT or ROLLBACK fails)", () => {
  const lostConnection = new SqlError({ message: "Connection terminated unexpectedly", cause: new Error("gone") })
  const free: LockPrimitives = { ...contended, acquire: () => Effect.void }

  it.effect("a failed ROLLBACK after the body failed reports the body's failure, not a defect", () =>
    Effect.gen(function*() {
      // @effect/sql's withTransaction dies when its ROLLBACK fails, dropping the body's failure.
      const lock = make({
        ...free,
        transaction: (body) => Effect.catchAllCause(body, () => Effect.die(lostConnection))
      })
      const bodyFailure = new DatabaseError({ step: "load providers", reason: "terminating connection" })
      const error = yield* Effect.flip(lock.withLock(Effect.fail(bodyFailure)))
      expect(error).toBeInstanceOf(DatabaseError)
      expect((error as DatabaseError).step).toBe("load providers")
    }))

  it.effect("a failed COMMIT is a DatabaseError at the commit step", () =>
    Effect.gen(function*() {
      const lock = make({ ...free, transaction: (body) => Effect.zipRight(body, Effect.die(lostConnection)) })
      const error = yield* Effect.flip(lock.withLock(Effect.succeed("seeded")))
      expect(error).toBeInstanceOf(DatabaseError)
      expect((error as DatabaseError).step).toBe("commit")
      expect(error.message).toContain("failed: gone")
    }))
})
