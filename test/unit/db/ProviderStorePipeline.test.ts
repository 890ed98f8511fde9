/**
 * How `ProviderStore.insertAll` sends a first seed's parts, on a scripted connection: one statement in
 * flight at a time, in order, nothing after a failure, and an interruption that waits for the statement
 * in flight to be cancelled (else the transaction's ROLLBACK and the driver's cancel race, and the
 * connection can go back to the pool inside an aborted transaction).
 */
import { Reactivity } from "@effect/experimental"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Redacted, Ref, TestClock } from "effect"
import { insertionsFor } from "../../../src/audit/Insertions.js"
import { DesiredProvider } from "../../../src/core/Provider.js"
import { make as makeEncryption } from "../../../src/crypto/Encryption.js"
import { make as makeStore } from "../../../src/db/ProviderStore.js"

interface Script {
  /** What the statement with this (1-based) number does instead of answering at once; it may log. */
  readonly statement: (
    n: number,
    log: (entry: string) => Effect.Effect<void>
  ) => Effect.Effect<ReadonlyArray<unknown>, SqlError> | undefined
}

/**
 * A client whose every statement is logged (BEGIN, COMMIT and ROLLBACK by name, the others as `start n`
 * and `end n`) and answered by the script.
 */
const scriptedClient = (script: Script) =>
  Effect.gen(function*() {
    const log = yield* Ref.make<ReadonlyArray<string>>([])
    const write = (entry: string) => Ref.update(log, (entries) => [...entries, entry])
    const count = yield* Ref.make(0)
    const execute = (text: string) =>
      /^(BEGIN|COMMIT|ROLLBACK)$/.test(text) ? Effect.as(write(text), []) : Effect.flatMap(
        Ref.updateAndGet(count, (n) => n + 1),
        (n) =>
          Effect.zipRight(
            write(`start ${n}`),
            (script.statement(n, write) ?? Effect.succeed([])).pipe(Effect.tap(() => write(`end ${n}`)))
          )
      )
    const connection = {
      execute,
      executeRaw: execute,
      executeValues: () => Effect.succeed([]),
      executeUnprepared: execute,
      executeStream: () => Effect.dieMessage("not scripted")
    }
    const sql = yield* SqlClient.make({
      acquirer: Effect.succeed(connection),
      compiler: PgClient.makeCompiler(),
      spanAttributes: []
    }).pipe(Effect.provide(Reactivity.layer))
    return { sql, log: Ref.get(log) }
  })

const providers = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    new DesiredProvider({
      name: `p-${i}`,
      type: "openai",
      base_url: "https://api.openai.com/v1/",
      keys: [Redacted.make(`sk-test-${i}`)],
      bedrock: null,
      source: []
    }, true))

const stampNow = { uuid: () => crypto.randomUUID(), now: new Date("2026-11-29T00:00:00.000Z") }
const parts = (count: number) => providers(count).map((provider) => () => insertionsFor(stampNow, [provider], "r"))

describe("ProviderStore.insertAll", () => {
  it.effect("sends the parts in order, one statement in flight at a time", () =>
    Effect.gen(function*() {
      const { log, sql } = yield* scriptedClient({ statement: () => Effect.as(Effect.yieldNow(), []) })
      yield* makeStore(sql, makeEncryption([])).insertAll(parts(3))
      expect(yield* log).toEqual(["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"])
    }))

  it.effect("stops at the first failure and reports it: nothing is sent after it", () =>
    Effect.gen(function*() {
      const { log, sql } = yield* scriptedClient({
        statement: (n) =>
          n === 2 ? Effect.fail(new SqlError({ message: "refused", cause: new Error("refused") })) : undefined
      })
      const failure = yield* Effect.flip(makeStore(sql, makeEncryption([])).insertAll(parts(4)))
      expect(failure._tag).toBe("DatabaseError")
      expect(yield* log).toEqual(["start 1", "end 1", "start 2"])
    }))

  it.effect("an interrupted transaction rolls back only once the statement in flight is cancelled", () =>
    Effect.gen(function*() {
      const inFlight = yield* Deferred.make<void>()
      const { log, sql } = yield* scriptedClient({
        // The first statement never answers; cancelling it takes a second (of the test clock), as the
        // driver's cancel request takes a round trip on another connection.
        statement: (n, log) =>
          n === 1
            ? Effect.async<ReadonlyArray<unknown>, SqlError>(() => {
              Deferred.unsafeDone(inFlight, Effect.void)
              return Effect.zipRight(Effect.sleep("1 second"), log("cancelled 1"))
            })
            : undefined
      })
      const seeding = yield* Effect.fork(sql.withTransaction(makeStore(sql, makeEncryption([])).insertAll(parts(3))))
      yield* Deferred.await(inFlight)
      const interrupting = yield* Effect.fork(Fiber.interrupt(seeding))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(interrupting)
      expect(yield* log).toEqual(["BEGIN", "start 1", "cancelled 1", "ROLLBACK"])
    }))
})
