/** Another session that takes the seed lock (10) in its own transaction and keeps it until released. */
import { SqlClient } from "@effect/sql"
import { Deferred, Effect, Fiber } from "effect"

export const holdSeedLockElsewhere = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const held = yield* Deferred.make<number>()
  const release = yield* Deferred.make<void>()
  const fiber = yield* sql.withTransaction(Effect.gen(function*() {
    const [row] = yield* sql<{ pid: number }>`select pg_backend_pid() as pid, pg_advisory_xact_lock(10)`
    yield* Deferred.succeed(held, row!.pid)
    yield* Deferred.await(release)
  })).pipe(Effect.fork)
  const pid = yield* Deferred.await(held)
  return { pid, release: Deferred.succeed(release, undefined).pipe(Effect.zipRight(Fiber.join(fiber))) }
})
