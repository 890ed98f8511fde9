/**
 * Migrations ship with the program. `@effect/sql`'s Migrator races when several processes bootstrap
 * its table at once, so the whole run is guarded by an advisory lock. The lock is transaction-scoped,
 * held by an open transaction on a reserved connection, so it also holds behind PgBouncer in
 * transaction mode and is released when that transaction ends, whatever happens.
 */
import { Migrator, SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import { genLockId } from "../core/LockIds.js"
import { DatabaseError } from "./DatabaseError.js"
import createAiProviders from "./migrations/0001_create_ai_providers.js"

export const migrationsTable = "ai_provider_seed_migrations"

/** Not one of lock.go's ids: derived from a name, as `GenLockID` is meant for. */
export const migrationsLockId = genLockId("ai-provider-seed:migrations")

const runMigrator = Migrator.make({})({
  loader: Migrator.fromRecord({ "0001_create_ai_providers": createAiProviders }),
  table: migrationsTable
})

const holdMigrationsLock = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const connection = yield* sql.reserve
  yield* Effect.acquireRelease(
    connection.executeRaw("begin", []),
    (_, exit) => connection.executeRaw(exit._tag === "Success" ? "commit" : "rollback", []).pipe(Effect.ignore)
  )
  yield* connection.executeRaw("select pg_advisory_xact_lock($1)", [String(migrationsLockId)])
})

/** Applies the pending migrations and returns them; a no-op on an up-to-date database. */
export const migrate: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  DatabaseError,
  SqlClient.SqlClient
> = Effect.scoped(Effect.zipRight(holdMigrationsLock, runMigrator)).pipe(
  Effect.catchTags({
    SqlError: (error: SqlError) => Effect.fail(DatabaseError.fromSqlError("migrate")(error)),
    MigrationError: (error) => Effect.fail(new DatabaseError({ step: "migrate", reason: error.message }))
  }),
  Effect.withSpan("Migrations.migrate")
)
