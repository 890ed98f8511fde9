/** Waiting for a state of the server that a test needs, explicitly and within a bound; and stopping a backend. */
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Schedule } from "effect"

/**
 * Polls `query` until it returns a row, every 20 ms for at most `within` (default 30 s): the test waits
 * for what it needs (a waiter in pg_locks, a statement running for 3 s) instead of sleeping and hoping.
 */
export const awaitRow = <A extends object>(
  description: string,
  query: (sql: SqlClient.SqlClient) => Effect.Effect<ReadonlyArray<A>, unknown>,
  within: Duration.DurationInput = "30 seconds"
) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    query(sql).pipe(
      Effect.flatMap((rows) => rows[0] === undefined ? Effect.fail("not yet") : Effect.succeed(rows[0])),
      Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo(within))),
      Effect.orElse(() => Effect.dieMessage(`gave up after ${Duration.format(within)} waiting for ${description}`))
    ))

/** A PostgreSQL backend stopped with SIGSTOP for as long as the scope lives (SIGCONT when it closes). */
export const stopBackend = (pid: number) =>
  Effect.acquireRelease(
    Effect.sync(() => process.kill(pid, "SIGSTOP")),
    () => Effect.sync(() => process.kill(pid, "SIGCONT"))
  )
