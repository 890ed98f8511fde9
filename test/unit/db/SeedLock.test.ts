import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Ref, TestClock } from "effect"
import { KeyBytes, makeCipher } from "../../../src/crypto/Cipher.js"
import { make as makeEncryption } from "../../../src/crypto/Encryption.js"
import { LockHolder, LockTimeout } from "../../../src/db/AdvisoryLock.js"
import { ServerSilent } from "../../../src/db/Database.js"
import { DatabaseError } from "../../../src/db/DatabaseError.js"
import { latestMigration } from "../../../src/db/Migrations.js"
import {
  type LockChecks,
  type LockPrimitives,
  type LockProbe,
  LockWait,
  make as makeLock
} from "../../../src/db/SeedLock.js"

const holder = new LockHolder({
  pid: 4242,
  applicationName: "ai-provider-seed",
  clientAddress: "10.0.0.7",
  transactionStart: new Date("2026-11-29T00:00:00.000Z"),
  mode: "ExclusiveLock"
})

const current: LockProbe = { schemaVersion: latestMigration, keyRows: [] }

/** The probe's answer to come, once the lock is granted: `probe`, and no read. */
const probed = (probe: LockProbe) => Effect.succeed({ probe, read: undefined })

/** The lock granted at once, the probe answering `probe`. */
const granting = (probe: LockProbe) => () => Effect.succeed(probed(probe))

/** A database where somebody else holds the lock forever. */
const contended: LockPrimitives = {
  transaction: (body) => body,
  acquire: () => Effect.never,
  registerKey: () => Effect.void,
  holders: Effect.succeed([holder])
}

const plaintext: LockChecks = { migrate: () => Effect.void, encryption: makeEncryption([]) }
const make = (primitives: LockPrimitives, checks: LockChecks = plaintext) => makeLock(primitives, checks)

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
      const lock = make({ ...contended, acquire: () => Effect.as(Effect.sleep("200 millis"), probed(current)) })
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
  const free: LockPrimitives = { ...contended, acquire: granting(current) }

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

  /**
   * The message that begins the transaction (BEGIN, its settings, the lock) on a connection the server had
   * closed: it fails without a SQLSTATE, and @effect/sql's ROLLBACK on that connection then dies.
   */
  const onClosedConnection = (acquire: LockPrimitives["acquire"]): LockPrimitives => ({
    ...free,
    transaction: (body) => Effect.catchAllCause(body, () => Effect.die(lostConnection)),
    acquire
  })

  it.effect("a BEGIN on a connection the server had closed is tried once more, on a new connection", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const lock = make(onClosedConnection(() =>
        Effect.flatMap(
          Ref.getAndUpdate(attempts, (n) => n + 1),
          (n) => n === 0 ? Effect.fail(lostConnection) : Effect.succeed(probed(current))
        )
      ))
      expect(yield* lock.withLock(Effect.succeed("seeded"))).toBe("seeded")
      expect(yield* Ref.get(attempts)).toBe(2)
    }))

  it.effect("a connection lost twice is a DatabaseError at the lock's step naming the usual causes, after two attempts", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const lock = make(
        onClosedConnection(() => Effect.zipRight(Ref.update(attempts, (n) => n + 1), Effect.fail(lostConnection)))
      )
      const error = yield* Effect.flip(lock.withLock(Effect.void))
      expect(error).toBeInstanceOf(DatabaseError)
      expect((error as DatabaseError).step).toBe("take the seed lock")
      expect(error.message).toContain("twice in a row")
      expect(error.message).toContain("idle_session_timeout")
      expect(yield* Ref.get(attempts)).toBe(2)
    }))

  it.effect("a connection lost during the wait is tried again for what is left of the bound, not a new one", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      // The first connection is lost after 300 ms of a 500 ms wait; the second waits for a lock never granted.
      const lock = make(onClosedConnection(() =>
        Effect.flatMap(
          Ref.getAndUpdate(attempts, (n) => n + 1),
          (n) => n === 0 ? Effect.zipRight(Effect.sleep("300 millis"), Effect.fail(lostConnection)) : Effect.never
        )
      ))
      const fiber = yield* Effect.fork(lock.withLock(Effect.void, { timeout: "500 millis" }))
      yield* TestClock.adjust("499 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toBeInstanceOf(LockTimeout)
      expect(error).toMatchObject({ waitedMs: 500 })
      expect(yield* Ref.get(attempts)).toBe(2)
    }))

  it.effect("the server's own refusal of the lock's message (a SQLSTATE) is not tried again", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const denied = new SqlError({
        message: "Failed to execute statement",
        cause: Object.assign(new Error("permission denied for table dbcrypt_keys"), {
          code: "42501",
          severity: "ERROR"
        })
      })
      const lock = make({
        ...free,
        acquire: () => Effect.zipRight(Ref.update(attempts, (n) => n + 1), Effect.fail(denied))
      })
      const error = yield* Effect.flip(lock.withLock(Effect.void))
      expect((error as DatabaseError).step).toBe("take the seed lock")
      expect(error.message).toContain("permission denied for table dbcrypt_keys")
      expect(yield* Ref.get(attempts)).toBe(1)
    }))

  it.effect("a COMMIT that fails after the body ran is not retried: the body ran once", () =>
    Effect.gen(function*() {
      const bodies = yield* Ref.make(0)
      const lock = make({ ...free, transaction: (body) => Effect.zipRight(body, Effect.die(lostConnection)) })
      const error = yield* Effect.flip(lock.withLock(Ref.update(bodies, (n) => n + 1)))
      expect((error as DatabaseError).step).toBe("commit")
      expect(yield* Ref.get(bodies)).toBe(1)
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

describe("SeedLock checks the schema and the keys before the body", () => {
  const key = new Uint8Array(32).fill(7)
  const cipher = makeCipher(KeyBytes(key))

  it.effect("a schema behind is migrated between two attempts, and the body runs once, on the current schema", () =>
    Effect.gen(function*() {
      const versions = yield* Ref.make([latestMigration - 1, latestMigration])
      const migrated = yield* Ref.make(0)
      const bodies = yield* Ref.make(0)
      const lock = make({
        ...contended,
        acquire: () =>
          Effect.succeed(Ref.modify(
            versions,
            (
              [version, ...rest]
            ) => [{ probe: { schemaVersion: version ?? latestMigration, keyRows: [] }, read: undefined }, rest]
          ))
      }, { ...plaintext, migrate: () => Ref.update(migrated, (n) => n + 1) })
      expect(yield* lock.withLock(Ref.updateAndGet(bodies, (n) => n + 1))).toBe(1)
      expect(yield* Ref.get(migrated)).toBe(1)
    }))

  it.effect("a schema still behind after migrating is a DatabaseError, not a loop", () =>
    Effect.gen(function*() {
      const lock = make({ ...contended, acquire: granting({ schemaVersion: 0, keyRows: [] }) })
      const error = yield* Effect.flip(lock.withLock(Effect.void))
      expect(error).toBeInstanceOf(DatabaseError)
      expect(error.message).toContain("after migrating")
    }))

  it.effect("keys that do not match the database fail before the body, naming the digest", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make(false)
      const registered = { active_key_digest: cipher.digest, revoked_key_digest: null, test: cipher.encrypt("coder") }
      const lock = make({
        ...contended,
        acquire: granting({ ...current, keyRows: [registered] })
      })
      const error = yield* Effect.flip(lock.withLock(Ref.set(ran, true)))
      expect(error._tag).toBe("EncryptionKeyMismatch")
      expect(error.message).toContain(cipher.digest)
      expect(yield* Ref.get(ran)).toBe(false)
    }))

  it.effect("without the key check (keys status, keys delete), lost keys do not stop the body and nothing is registered", () =>
    Effect.gen(function*() {
      const registrations = yield* Ref.make<Array<string>>([])
      const lost = { active_key_digest: "0000000", revoked_key_digest: null, test: "not decryptable" }
      const lock = make(
        {
          ...contended,
          acquire: granting({ ...current, keyRows: [lost] }),
          registerKey: (row) => Ref.update(registrations, (rows) => [...rows, row.active_key_digest])
        },
        { ...plaintext, encryption: makeEncryption([cipher]) }
      )
      expect((yield* Effect.flip(lock.withLock(Effect.void)))._tag).toBe("EncryptionKeyMismatch")
      expect(yield* lock.withLock(Effect.succeed("ran"), { verifyKeys: false })).toBe("ran")
      expect(yield* Ref.get(registrations)).toEqual([])
    }))

  it.effect("a new primary key is registered by writers, not by readers", () =>
    Effect.gen(function*() {
      const registrations = yield* Ref.make<Array<string>>([])
      const lock = make(
        {
          ...contended,
          acquire: granting(current),
          registerKey: (row) => Ref.update(registrations, (rows) => [...rows, row.active_key_digest])
        },
        { ...plaintext, encryption: makeEncryption([cipher]) }
      )
      yield* lock.withLock(Effect.void, { mode: "shared", readOnly: true })
      expect(yield* Ref.get(registrations)).toEqual([])
      yield* lock.withLock(Effect.void)
      expect(yield* Ref.get(registrations)).toEqual([cipher.digest])
    }))
})

describe("SeedLock's probe: after the lock, with the body's first read", () => {
  const read = { statement: "select 'the providers'", step: "load providers" }
  const free: LockPrimitives = { ...contended, acquire: granting(current) }
  const valueAndWait = (value: unknown) => Effect.map(LockWait, ({ waitedMs }) => ({ value, waitedMs }))

  it.effect("answers once the lock is granted, after the wait, and the body gets the read's value", () =>
    Effect.gen(function*() {
      const steps = yield* Ref.make<Array<string>>([])
      const step = (name: string) => Ref.update(steps, (all) => [...all, name])
      const lock = make({
        ...contended,
        acquire: (_mode, _settings, statement) =>
          Effect.zipRight(
            Effect.zipRight(Effect.sleep("300 millis"), step("locked")),
            Effect.succeed(Effect.as(step(`probed with ${statement}`), { probe: current, read: ["row"] }))
          )
      })
      const fiber = yield* Effect.fork(lock.withLockReading(read, valueAndWait, { timeout: "500 millis" }))
      yield* TestClock.adjust("300 millis")
      expect(yield* Fiber.join(fiber)).toEqual({ value: ["row"], waitedMs: 300 })
      expect(yield* Ref.get(steps)).toEqual(["locked", `probed with ${read.statement}`])
    }))

  it.effect("a statement that fails on a table or column the migrations add is a schema to migrate", () =>
    Effect.gen(function*() {
      const migrated = yield* Ref.make(0)
      const missingColumn = new SqlError({
        message: "Failed to execute statement",
        cause: Object.assign(new Error("column p.settings_key_id does not exist"), { code: "42703", severity: "ERROR" })
      })
      const attempts = yield* Ref.make(0)
      const lock = make({
        ...free,
        acquire: () =>
          Effect.succeed(Effect.flatMap(
            Ref.getAndUpdate(attempts, (n) => n + 1),
            (n) => n === 0 ? Effect.fail(missingColumn) : Effect.succeed({ probe: current, read: ["row"] })
          ))
      }, { ...plaintext, migrate: () => Ref.update(migrated, (n) => n + 1) })
      expect((yield* lock.withLockReading(read, valueAndWait)).value).toEqual(["row"])
      expect(yield* Ref.get(migrated)).toBe(1)

      // Still failing after migrating: the database's own answer, not a loop.
      const broken = make({ ...free, acquire: () => Effect.succeed(Effect.fail(missingColumn)) })
      const error = yield* Effect.flip(broken.withLockReading(read, valueAndWait))
      expect(error).toBeInstanceOf(DatabaseError)
      expect(error.message).toContain("column p.settings_key_id does not exist after migrating")
    }))

  it.effect("a server gone silent during the read is the read's failure, not tried again", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const silent = new SqlError({
        message: "Failed to execute statement",
        cause: new ServerSilent(Duration.seconds(19))
      })
      const lock = make({
        ...free,
        acquire: () => Effect.succeed(Effect.zipRight(Ref.update(attempts, (n) => n + 1), Effect.fail(silent)))
      })
      const error = yield* Effect.flip(lock.withLockReading(read, valueAndWait))
      expect(error).toBeInstanceOf(DatabaseError)
      expect((error as DatabaseError).step).toBe("load providers")
      expect(error.message).toContain("sent nothing")
      expect(yield* Ref.get(attempts)).toBe(1)
    }))
})
