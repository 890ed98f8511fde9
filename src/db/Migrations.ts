/**
 * Migrations ship with the program. `@effect/sql`'s Migrator races when several processes bootstrap
 * its table at once, so the whole run happens in one transaction that first takes an advisory lock.
 * One transaction on one connection: the lock holds behind PgBouncer in transaction mode, is released
 * whatever happens, and the holder never needs a second connection (with a small PgBouncer pool, a
 * holder waiting for a connection that the lock's waiters occupy would deadlock).
 */
import { Migrator, SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect, Option } from "effect"
import { genLockId } from "../core/LockIds.js"
import { type AdvisoryLock, defaultLockTimeout, holdersOf, serverGrace, waitBounded } from "./AdvisoryLock.js"
import { DatabaseError, sqlStateOf } from "./DatabaseError.js"
import createAiProviders from "./migrations/0001_create_ai_providers.js"
import encryptionAtRest from "./migrations/0002_encryption_at_rest.js"

export const migrationsTable = "ai_provider_seed_migrations"

/** Not one of lock.go's ids: derived from a name, as `GenLockID` is meant for. */
export const migrationsLock: AdvisoryLock = {
  id: genLockId("ai-provider-seed:migrations"),
  name: "the migrations lock",
  holderHint: "Another process is migrating the schema"
}

const migrations = {
  "0001_create_ai_providers": createAiProviders,
  "0002_encryption_at_rest": encryptionAtRest
}

/** The version a database must have for this program: the id of the last migration it ships. */
export const latestMigration = Object.keys(migrations).length

const runMigrator = Migrator.make({})({ loader: Migrator.fromRecord(migrations), table: migrationsTable })

const runGuarded = (timeout: Duration.Duration) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const serverTimeout = `${Duration.toMillis(Duration.sum(timeout, serverGrace))}ms`
    yield* sql`select set_config('lock_timeout', ${serverTimeout}, true),
      set_config('statement_timeout', ${serverTimeout}, true)`
    yield* waitBounded({
      lock: migrationsLock,
      timeout,
      acquire: sql`select pg_advisory_xact_lock(${String(migrationsLock.id)}::bigint)`,
      holders: holdersOf(sql, migrationsLock.id)
    })
    // Created here, under the lock, in the Migrator's own shape: inside a transaction its bootstrap
    // probe (a failing `select 'table'::regclass`) would abort the transaction.
    yield* sql`
      create table if not exists ${sql(migrationsTable)} (
        migration_id integer primary key,
        created_at timestamp with time zone not null default now(),
        name text not null
      )`
    return yield* runMigrator
  })

/**
 * A migration that fails is a defect of the Migrator (`orDie`, its message naming the migration): its SQL
 * error says why. So is a failed COMMIT or ROLLBACK of the migrations' transaction.
 */
const failedMigration = (defect: unknown) => {
  // @effect/sql also dies when the transaction's COMMIT or ROLLBACK fails: the server went away while
  // migrating, and the transaction (all of it) with it.
  if (defect instanceof SqlError) return Option.some(Effect.fail(DatabaseError.fromSqlError("migrate")(defect)))
  if (!(defect instanceof Migrator.MigrationError)) return Option.none()
  const migration = /"([^"]+)"/.exec(defect.message)?.[1]
  const step = migration === undefined ? "migrate" : `migrate (migration ${migration})`
  return Option.some(Effect.fail(
    defect.cause instanceof SqlError
      ? DatabaseError.fromSqlError(step)(defect.cause)
      : new DatabaseError({ step, reason: defect.message })
  ))
}

export interface MigrateOptions {
  /** How long to wait for the migrations lock (default 30 s). */
  readonly lockTimeout?: Duration.DurationInput | undefined
}

/**
 * Whether the schema is current, read without a lock. The Migrator's first step is `LOCK TABLE ... IN
 * ACCESS EXCLUSIVE MODE`, which waits (with no bound) for every transaction that has read the table, as
 * each seed-locked transaction does; checking first lets a current database skip it, so a seed behind a
 * long `keys rotate` waits on the seed lock, bounded by its lock timeout.
 */
const upToDate = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql<{ version: number }>`select coalesce(max(migration_id), 0)::int as version from ${sql(migrationsTable)}`.pipe(
      Effect.map((rows) => (rows[0]?.version ?? 0) >= latestMigration),
      Effect.catchIf((error) => sqlStateOf(error).sqlState === undefinedTable, () => Effect.succeed(false))
    )
)

/** PostgreSQL's "undefined table": a database never migrated. */
const undefinedTable = "42P01"

/** Applies the pending migrations and returns them; a no-op on an up-to-date database. */
export const migrate = (options: MigrateOptions = {}) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => {
      const timeout = Duration.decode(options.lockTimeout ?? defaultLockTimeout)
      // Bounded on the client: this read waits behind a migration in progress (its table lock).
      const current = upToDate.pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new DatabaseError({
              step: "check the schema",
              reason: `the migrations table did not answer within ${Duration.format(timeout)}`,
              fix: "another process may be migrating: retry, or raise --lock-timeout"
            })
        })
      )
      return Effect.flatMap(current, (isCurrent) =>
        isCurrent ? Effect.succeed([]) : sql.withTransaction(Effect.interruptible(runGuarded(timeout))))
    }
  ).pipe(
    // A wait, so a signal may end it, also inside the program's uninterruptible commands (see bin.ts).
    Effect.interruptible,
    Effect.catchSomeDefect(failedMigration),
    Effect.catchTags({
      SqlError: (error: SqlError) =>
        Effect.fail(DatabaseError.fromSqlError("migrate")(error)),
      MigrationError: (error) => Effect.fail(new DatabaseError({ step: "migrate", reason: error.message }))
    }),
    Effect.withSpan("Migrations.migrate")
  )

/** The schema as a service, so the seed's orchestration can be tested without a database. */
export class Migrations extends Effect.Service<Migrations>()("ai-provider-seed/Migrations", {
  effect: Effect.map(SqlClient.SqlClient, (sql) => ({
    migrate: (options: MigrateOptions = {}) => Effect.provideService(migrate(options), SqlClient.SqlClient, sql)
  }))
}) {}
