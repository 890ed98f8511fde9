/**
 * Two simple queries written at once (src/db/Pipelined.ts) on real PostgreSQL: the first is answered while
 * the second still waits, each failure stays with its own query, and the client goes on as usual after.
 * What SeedLock relies on: the lock's message answered (and bounded) on its own, the probe behind it.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Redacted, Ref } from "effect"
import Pg from "pg"
import { pipelined } from "../../../src/db/Pipelined.js"
import * as TestDatabase from "../../support/TestDatabase.js"
import { waitUntil } from "../faults/Faults.js"

/** A node-postgres client of its own on the test database, ended with the scope. */
const client = Effect.flatMap(TestDatabase.TestDatabase, ({ url }) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Pg.Client({ connectionString: Redacted.value(url) })
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end())
  ))

const pidOf = (client: Pg.Client) => (client as unknown as { readonly processID: number }).processID

/** node-postgres warns (once, on stderr) when a query is queued behind another: none may be. */
const warnings: Array<string> = []
process.on("warning", (warning) => warnings.push(warning.message))
const noQueuedQueryWarning = Effect.sync(() =>
  expect(warnings.filter((warning) => warning.includes("already executing"))).toEqual([])
)

layer(TestDatabase.layer(), { excludeTestServices: true })("pipelined simple queries", (it) => {
  it.scoped("answers the first while the second waits for a table lock, then the second", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`create table if not exists pipelined_probe (id int)`
      const pg = yield* client
      // Another session holds the table until released.
      const locked = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`lock table pipelined_probe in access exclusive mode`
        yield* Deferred.succeed(locked, undefined)
        yield* Deferred.await(release)
      })).pipe(Effect.fork)
      yield* Deferred.await(locked)

      const [first, second] = yield* pipelined(
        pg,
        "select 'first' as answer",
        "select count(*) as rows from pipelined_probe",
        Effect.void
      )
      expect(first).toEqual([{ answer: "first" }])
      // The state the second waits in, seen from the server: its backend waits for the table's lock.
      yield* waitUntil(
        "the second query waits for the table",
        Effect.map(
          sql<{ waiting: boolean }>`select exists(select 1 from pg_locks where pid = ${pidOf(pg)}
            and relation = 'pipelined_probe'::regclass and not granted) as waiting`,
          (rows) => rows[0]?.waiting === true
        ),
        "30 seconds"
      )
      const answer = yield* Effect.fork(second)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(answer)).toEqual([{ rows: "0" }])
      // The client takes its next query as usual.
      expect((yield* Effect.promise(() => pg.query("select 2 as two"))).rows).toEqual([{ two: 2 }])
      yield* noQueuedQueryWarning
    }))

  it.scoped("each failure is its own query's: a failed first, a second that still answers", () =>
    Effect.gen(function*() {
      const pg = yield* client
      const error = yield* Effect.flip(pipelined(pg, "select 1/0", "select 'second' as answer", Effect.void))
      expect(error._tag).toBe("SqlError")
      expect(error.cause).toMatchObject({ code: "22012" })
      const [first, second] = yield* pipelined(pg, "select 'first' as answer", "select 1/0", Effect.void)
      expect(first).toEqual([{ answer: "first" }])
      expect((yield* Effect.flip(second)).cause).toMatchObject({ code: "22012" })
      expect((yield* Effect.promise(() => pg.query("select 3 as three"))).rows).toEqual([{ three: 3 }])
      yield* noQueuedQueryWarning
    }))

  /**
   * Interrupts `wait` once `pg`'s backend sleeps in the query `waiting` started: the cancel must have run
   * (pg_cancel_backend, recorded) and the client take its next query at once, with no warning.
   */
  const interruptedWhileSleeping = (
    pg: Pg.Client,
    waiting: (cancel: Effect.Effect<void>) => Effect.Effect<unknown, unknown>
  ) =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const cancelled = yield* Ref.make(false)
      const cancel = Effect.zipRight(
        Ref.set(cancelled, true),
        Effect.ignore(sql`select pg_cancel_backend(${pidOf(pg)})`)
      )
      const fiber = yield* Effect.fork(waiting(cancel))
      yield* waitUntil(
        "the query sleeps",
        Effect.map(
          sql<{ sleeping: boolean }>`select exists(select 1 from pg_stat_activity where pid = ${
            pidOf(pg)
          } and state = 'active' and query like '%pg_sleep%') as sleeping`,
          (rows) => rows[0]?.sleeping === true
        ),
        "30 seconds"
      )
      yield* Fiber.interrupt(fiber)
      expect(yield* Ref.get(cancelled)).toBe(true)
      expect((yield* Effect.promise(() => pg.query("select 5 as five"))).rows).toEqual([{ five: 5 }])
      yield* noQueuedQueryWarning
    })

  it.scoped("an interrupted wait for the second (the probe behind the lock) runs the cancel too", () =>
    Effect.flatMap(client, (pg) =>
      interruptedWhileSleeping(pg, (cancel) =>
        Effect.flatMap(
          pipelined(pg, "select 'first' as answer", "select pg_sleep(60)", cancel),
          ([first, second]) => Effect.zipRight(Effect.sync(() => expect(first).toEqual([{ answer: "first" }])), second)
        ))))

  it.scoped("an interrupted wait for the first runs the cancel, and the client recovers", () =>
    Effect.flatMap(
      client,
      (pg) =>
        interruptedWhileSleeping(pg, (cancel) =>
          pipelined(pg, "select pg_sleep(60)", "select 'second' as answer", cancel))
    ))
})
