/** Another session that takes an advisory lock (the seed lock, 10, by default) in its own transaction and keeps it until released. */
import { SqlClient } from "@effect/sql"
import { Deferred, Effect, Fiber } from "effect"

export const holdAdvisoryLockElsewhere = (id: bigint) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const held = yield* Deferred.make<number>()
    const release = yield* Deferred.make<void>()
    const fiber = yield* sql.withTransaction(Effect.gen(function*() {
      const [row] = yield* sql<{ pid: number }>`select pg_backend_pid() as pid, pg_advisory_xact_lock(${
        String(id)
      }::bigint)`
      yield* Deferred.succeed(held, row!.pid)
      yield* Deferred.await(release)
    })).pipe(Effect.fork)
    const pid = yield* Deferred.await(held)
    return { pid, release: Deferred.succeed(release, undefined).pipe(Effect.zipRight(Fiber.join(fiber))) }
  })

export const holdSeedLockElsewhere = holdAdvisoryLockElsewhere(10n)
