/**
 * The seed lock: PostgreSQL's transaction-scoped advisory lock `LockIDAIProvidersEnvSeed`, taken
 * first thing in the transaction it protects. Its lifetime is the transaction's, so commit, rollback,
 * a defect or an interruption all release it and nothing leaks into the pool; and it still holds
 * behind PgBouncer in transaction mode, where session locks do not.
 *
 * Every transaction that reads or writes providers runs here, so the checks it needs live here too, in
 * the lock's own statement: the schema's version (behind: migrate under the migrations lock, then try
 * once more) and the encryption keys registered in `dbcrypt_keys` (they must match the configured ones
 * before anything is read or written). The transaction sets its own timeouts, whatever the database's
 * defaults are. BEGIN, those settings and the lock with its probe are one message: one round trip.
 */
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import type { Cause } from "effect"
import { Clock, Context, Data, Duration, Effect, Exit, Option, Ref, Schema, Scope } from "effect"
import { LockIDAIProvidersEnvSeed } from "../core/LockIds.js"
import { type DbcryptKeyRow, Encryption, type NewDbcryptKey } from "../crypto/Encryption.js"
import {
  type AdvisoryLock,
  defaultLockTimeout,
  holdersOf,
  type LockHolder,
  type LockTimeout,
  serverGrace,
  waitBounded
} from "./AdvisoryLock.js"
import { DatabaseError, sqlStateOf } from "./DatabaseError.js"
import { latestMigration, type MigrateOptions, Migrations, migrationsTable } from "./Migrations.js"

export const seedLock: AdvisoryLock = {
  id: LockIDAIProvidersEnvSeed,
  name: "the seed lock",
  holderHint: "Another replica may be seeding"
}

export type LockMode = "exclusive" | "shared"

export interface LockOptions {
  readonly timeout?: Duration.DurationInput | undefined
  /** Readers share the lock with each other and wait only for a seed. */
  readonly mode?: LockMode
  readonly readOnly?: boolean
  /**
   * Check the configured encryption keys against `dbcrypt_keys`, and register a new primary, before the
   * body (default). Off only for bodies that read and write no encrypted value and must run when the keys
   * are lost or wrong: `keys status` and `keys delete`.
   */
  readonly verifyKeys?: boolean
}

/** What the lock's statement reads beside the lock. */
export interface LockProbe {
  /** The highest migration applied. */
  readonly schemaVersion: number
  readonly keyRows: ReadonlyArray<DbcryptKeyRow>
}

/** The transaction's own timeouts, whatever the database's defaults are. */
export interface SessionTimeouts {
  /** Bounds every statement, the lock's wait included. */
  readonly statement: Duration.Duration
  readonly lock: Duration.Duration
  /** Ends the transaction (and frees the lock) if this program stops between statements. */
  readonly idleInTransaction: Duration.Duration
}

/** How the transaction begins: its timeouts, and read-only mode for readers. */
export interface TransactionSettings {
  readonly readOnly: boolean
  readonly timeouts: SessionTimeouts
}

/** What the bounded lock needs from the database; `sqlPrimitives` gives the SQL ones, tests give their own. */
export interface LockPrimitives {
  /** Runs `body` in a transaction that `acquire` begins: COMMIT when it succeeds, else ROLLBACK. */
  readonly transaction: <A, E, R>(body: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
  /**
   * Begins the transaction with its settings, waits for the lock and reads the probe: one message, one
   * round trip (10 ms each to a database 5 ms away).
   */
  readonly acquire: (mode: LockMode, settings: TransactionSettings) => Effect.Effect<LockProbe, SqlError>
  /** Registers the primary encryption key (once, even when replicas race). */
  readonly registerKey: (key: NewDbcryptKey) => Effect.Effect<void, SqlError>
  /** Who holds the lock, asked on a connection of its own (the waiting transaction may be aborted). */
  readonly holders: Effect.Effect<ReadonlyArray<LockHolder>, SqlError>
}

/** What the transaction checks before its body: the schema (migrated when behind) and the keys. */
export interface LockChecks {
  readonly migrate: (options: MigrateOptions) => Effect.Effect<unknown, DatabaseError | LockTimeout>
  readonly encryption: Pick<typeof Encryption.Service, "verify">
}

/** The schema is older than this program: migrate, then try again. */
class SchemaBehind extends Data.TaggedError("SchemaBehind")<{ readonly version: number }> {}
const isSchemaBehind = (error: unknown): error is SchemaBehind => error instanceof SchemaBehind

/**
 * The message that begins the transaction and waits for the lock lost its connection: the server had
 * closed it while it sat idle in the pool (a restart, `idle_session_timeout`), or ended it during the wait.
 * Nothing was committed, so one more attempt on a new connection is safe, within what is left of the bound.
 */
class BeginFailed extends Data.TaggedError("BeginFailed")<{ readonly cause: SqlError }> {}
const isBeginFailed = (error: unknown): error is BeginFailed => error instanceof BeginFailed

/** No answer from the server (the socket closed), or its goodbye: SQLSTATE 57P01-57P05 (shutdown, idle timeout). */
const connectionGone = (error: SqlError) => {
  const { sqlState } = sqlStateOf(error)
  return sqlState === undefined || sqlState.startsWith("57P")
}

/** The connection lost again, on the second attempt: its reason, and the usual causes as the fix. */
const connectionLostTwice = (cause: SqlError) => {
  const error = DatabaseError.fromSqlError("take the seed lock")(cause)
  return new DatabaseError({
    step: error.step,
    reason: `${error.reason} (the connection was lost twice in a row, on two connections)`,
    ...(error.sqlState === undefined ? {} : { sqlState: error.sqlState }),
    fix: error.fix ??
      "the server closed the session: it closes idle sessions (`idle_session_timeout`: raise it for this role), was restarting, or the session was ended (pg_terminate_backend); check the server, then start again"
  })
}

/** PostgreSQL's "undefined table": the probe ran on a database the migrations have not reached yet. */
const undefinedTable = "42P01"

/** Provided to a locked body: how long it waited for the lock, for reports and spans. */
export class LockWait extends Context.Tag("ai-provider-seed/LockWait")<LockWait, { readonly waitedMs: number }>() {}

const idleInTransaction = Duration.seconds(60)

const lockTimeoutOf = (options: LockOptions) => Duration.decode(options.timeout ?? defaultLockTimeout)

export const make = (primitives: LockPrimitives, checks: LockChecks) => {
  const acquireBounded = (options: LockOptions, waitedBefore: number) =>
    Effect.gen(function*() {
      const timeout = lockTimeoutOf(options)
      const serverTimeout = Duration.sum(timeout, serverGrace)
      const settings: TransactionSettings = {
        readOnly: options.readOnly ?? false,
        timeouts: { statement: serverTimeout, lock: serverTimeout, idleInTransaction }
      }
      const { value: probe, waitedMs } = yield* waitBounded({
        lock: seedLock,
        timeout,
        waitedBefore,
        acquire: primitives.acquire(options.mode ?? "exclusive", settings).pipe(
          Effect.mapError((error) =>
            sqlStateOf(error).sqlState === undefinedTable
              ? new SchemaBehind({ version: 0 })
              : connectionGone(error)
              ? new BeginFailed({ cause: error })
              : error
          )
        ),
        holders: primitives.holders
      })
      yield* Effect.annotateCurrentSpan("lock_wait_ms", waitedMs)
      return { waitedMs, probe }
    }).pipe(
      Effect.catchTag("SqlError", (error) => Effect.fail(DatabaseError.fromSqlError("take the seed lock")(error))),
      Effect.withSpan("SeedLock.acquire")
    )

  /** The schema is current and the keys match, before the body reads or writes anything. */
  const check = (probe: LockProbe, options: LockOptions) =>
    Effect.gen(function*() {
      if (probe.schemaVersion < latestMigration) return yield* new SchemaBehind({ version: probe.schemaVersion })
      if (options.verifyKeys === false) return
      const unregistered = yield* checks.encryption.verify(probe.keyRows)
      if (Option.isSome(unregistered) && options.readOnly !== true) {
        yield* primitives.registerKey(unregistered.value).pipe(
          Effect.catchTag("SqlError", (error) =>
            Effect.fail(DatabaseError.fromSqlError("register the encryption key")(error)))
        )
      }
    })

  const attempt = <A, E, R>(body: Effect.Effect<A, E, R>, options: LockOptions, waitedBefore = 0) =>
    Effect.gen(function*() {
      const locked = Effect.flatMap(
        acquireBounded(options, waitedBefore),
        ({ probe, waitedMs }) =>
          Effect.zipRight(check(probe, options), Effect.provideService(body, LockWait, { waitedMs }))
      )
      const bodyFailure = yield* Ref.make(Option.none<Cause.Cause<Effect.Effect.Error<typeof locked>>>())
      // The commit span opens when the body ends, inside the transaction, and closes after COMMIT.
      // The lock wait and the body may be interrupted (then the transaction rolls back); COMMIT and what
      // follows it keep the caller's interruptibility: the program's commands finish what they committed.
      const [result, commit] = yield* primitives.transaction(
        Effect.interruptible(locked).pipe(
          Effect.tapErrorCause((cause) => Ref.set(bodyFailure, Option.some(cause))),
          Effect.flatMap((result) => Effect.map(Effect.makeSpan("SeedLock.commit"), (span) => [result, span] as const))
        )
      ).pipe(
        // @effect/sql turns a failed COMMIT or ROLLBACK into a defect. Each means the connection or the
        // server went away: nothing was committed by a rollback, and the body's own failure (if any) is the
        // one to report.
        Effect.catchSomeDefect((defect) =>
          defect instanceof SqlError
            ? Option.some(Effect.flatMap(
              Ref.get(bodyFailure),
              Option.match({
                onNone: (): Effect.Effect<never, Effect.Effect.Error<typeof locked>> =>
                  Effect.fail(DatabaseError.fromSqlError("commit")(defect)),
                onSome: Effect.failCause
              })
            ))
            : Option.none()
        )
      )
      commit.end(yield* Clock.currentTimeNanos, Exit.void)
      return result
    }).pipe(
      // BEGIN, COMMIT and ROLLBACK are the transaction's own statements.
      Effect.mapError((error) => error instanceof SqlError ? DatabaseError.fromSqlError("transaction")(error) : error)
    )

  /**
   * Runs `body` in one transaction that holds the seed lock, waiting at most `timeout` for it (and for the
   * migrations lock, when the schema is behind), on a current schema with matching encryption keys. A
   * schema that is behind is migrated first, in a transaction of its own, then the body runs in a new
   * transaction.
   */
  const attemptOnLiveConnection = <A, E, R>(body: Effect.Effect<A, E, R>, options: LockOptions) =>
    Effect.flatMap(Clock.currentTimeMillis, (started) =>
      attempt(body, options).pipe(
        Effect.catchIf(isBeginFailed, () =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            // The second attempt waits only for what is left of the bound, and counts the first one's wait.
            const spentMs = now - started
            const leftMs = Math.max(0, Duration.toMillis(lockTimeoutOf(options)) - spentMs)
            return attempt(body, { ...options, timeout: Duration.millis(leftMs) }, spentMs)
          })),
        Effect.catchIf(isBeginFailed, ({ cause }) => Effect.fail(connectionLostTwice(cause)))
      ))

  const withLock = <A, E, R>(body: Effect.Effect<A, E, R>, options: LockOptions = {}) =>
    attemptOnLiveConnection(body, options).pipe(
      Effect.catchIf(isSchemaBehind, () =>
        Effect.zipRight(
          Effect.interruptible(checks.migrate({ lockTimeout: options.timeout })),
          attemptOnLiveConnection(body, options).pipe(
            Effect.catchIf(isSchemaBehind, ({ version }) =>
              new DatabaseError({
                step: "check the schema",
                reason:
                  `the schema is at migration ${version} after migrating, but this program needs ${latestMigration}`
              }))
          )
        ))
    )

  return { withLock }
}

/** A literal of SQL text: a number and a unit, nothing from outside. */
const millis = (duration: Duration.Duration) => `'${Duration.toMillis(duration)}ms'`

/** The transaction's settings: its timeouts, and read-only mode for readers. */
const settingsStatement = ({ readOnly, timeouts }: TransactionSettings) =>
  `select set_config('statement_timeout', ${millis(timeouts.statement)}, true),
    set_config('lock_timeout', ${millis(timeouts.lock)}, true),
    set_config('idle_in_transaction_session_timeout', ${millis(timeouts.idleInTransaction)}, true)${
    readOnly ? `, set_config('transaction_read_only', 'on', true)` : ""
  }`

/** The lock, and beside it the schema's version and the registered encryption keys (our constants only). */
const lockStatement = (mode: LockMode) =>
  `select ${mode === "shared" ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock"}(${
    String(seedLock.id)
  }::bigint)::text as locked,
    (select coalesce(max(migration_id), 0) from "${migrationsTable}")::int as schema_version,
    (select coalesce(json_agg(json_build_object(
      'active_key_digest', active_key_digest, 'revoked_key_digest', revoked_key_digest, 'test', test)), '[]')
     from dbcrypt_keys) as key_rows`

/**
 * `sql.withTransaction`, except that BEGIN is not a message of its own: `acquire` sends it with the
 * settings and the lock.
 */
const transactionWith = (sql: SqlClient.SqlClient) =>
  SqlClient.makeWithTransaction({
    transactionTag: SqlClient.TransactionConnection,
    spanAttributes: [],
    acquireConnection: Effect.flatMap(
      Scope.make(),
      (scope) => Effect.map(Scope.extend(sql.reserve, scope), (connection) => [scope, connection] as const)
    ),
    begin: () => Effect.void,
    savepoint: (connection, id) => connection.executeUnprepared(`SAVEPOINT effect_sql_${id}`, [], undefined),
    commit: (connection) => connection.executeUnprepared("COMMIT", [], undefined),
    rollback: (connection) => connection.executeUnprepared("ROLLBACK", [], undefined),
    rollbackSavepoint: (connection, id) =>
      connection.executeUnprepared(`ROLLBACK TO SAVEPOINT effect_sql_${id}`, [], undefined)
  })

const ProbeRow = Schema.Struct({
  schema_version: Schema.Number,
  key_rows: Schema.Array(Schema.Struct({
    active_key_digest: Schema.NullOr(Schema.String),
    revoked_key_digest: Schema.NullOr(Schema.String),
    test: Schema.String
  }))
})

/** @effect/sql-pg's rows of a message of several statements: one array per statement. */
const ResultSets = Schema.Array(Schema.Array(Schema.Unknown))

/** The probe: the first row of the message's last statement, the lock's. */
const decodeProbe = (results: ReadonlyArray<unknown>) =>
  Schema.decodeUnknown(ResultSets)(results).pipe(
    Effect.flatMap((sets) => Schema.decodeUnknown(ProbeRow)(sets.at(-1)?.[0])),
    Effect.map((row): LockProbe => ({ schemaVersion: row.schema_version, keyRows: row.key_rows })),
    Effect.orDie
  )

export const sqlPrimitives = (sql: SqlClient.SqlClient): LockPrimitives => ({
  transaction: transactionWith(sql),
  acquire: (mode, settings) =>
    Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (transaction) =>
      // Nested in a transaction of the caller's, its SAVEPOINT stands for BEGIN.
      sql.unsafe(
        `${Option.exists(transaction, ([, depth]) => depth > 0) ? "" : "BEGIN; "}${settingsStatement(settings)}; ${
          lockStatement(mode)
        }`
      )).pipe(Effect.flatMap(decodeProbe)),
  registerKey: (key) =>
    sql`insert into dbcrypt_keys (number, active_key_digest, test)
      select coalesce(max(number), 0) + 1, ${key.active_key_digest}, ${key.test} from dbcrypt_keys
      on conflict do nothing`.pipe(Effect.asVoid),
  holders: holdersOf(sql, seedLock.id)
})

/** Requires the SQL client, the migrations and the encryption keys; tests build it over their own primitives. */
export class SeedLock extends Effect.Service<SeedLock>()("ai-provider-seed/SeedLock", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const migrations = yield* Migrations
    const encryption = yield* Encryption
    return make(sqlPrimitives(sql), { migrate: migrations.migrate, encryption })
  }),
  dependencies: [Migrations.Default]
}) {}
