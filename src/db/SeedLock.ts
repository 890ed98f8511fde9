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
 * defaults are.
 *
 * One message begins it: BEGIN, those settings, a try for the lock with the probe, and the body's first
 * read (the seed's load of the stored providers), so that a start that finds the lock free (as nearly
 * every start does) has begun, locked, checked and read in one round trip. Only when another session
 * holds the lock does a second statement wait for it, bounded, and the read run once it is granted.
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
import { ServerSilent } from "./Database.js"
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

/**
 * A read that a locked body starts with, sent in the lock's own message: constant SQL text without
 * parameters, and the step its failures are reported at (it is the part of that message that can take
 * long: BEGIN, the settings and a try for the lock never wait).
 */
export interface LockedRead {
  readonly statement: string
  readonly step: string
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

/** What the message that begins the transaction answers. */
export interface Began {
  /** The lock was free and is held now; if not, `acquire` waits for it. */
  readonly granted: boolean
  readonly probe: LockProbe
  /** The rows of the read sent with it (read without the lock when it was not granted, and then unused). */
  readonly rows: ReadonlyArray<unknown>
}

/** What the bounded lock needs from the database; `sqlPrimitives` gives the SQL ones, tests give their own. */
export interface LockPrimitives {
  /** Runs `body` in a transaction that `begin` begins: COMMIT when it succeeds, else ROLLBACK. */
  readonly transaction: <A, E, R>(body: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
  /**
   * Begins the transaction with its settings, tries the lock without waiting, reads the probe and runs
   * `read`: one message, one round trip (10 ms each to a database 5 ms away).
   */
  readonly begin: (
    mode: LockMode,
    settings: TransactionSettings,
    read: string | undefined
  ) => Effect.Effect<Began, SqlError>
  /** Waits for the lock in the transaction `begin` began, and reads the probe again. */
  readonly acquire: (mode: LockMode) => Effect.Effect<LockProbe, SqlError>
  /** Runs a read once the lock was waited for. */
  readonly read: (statement: string) => Effect.Effect<ReadonlyArray<unknown>, SqlError>
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

/**
 * The schema is older than this program: migrate, then try again. `cause`: the lock's message failed on a
 * table or column that the migrations add, so the version was not read.
 */
class SchemaBehind extends Data.TaggedError("SchemaBehind")<{
  readonly version: number
  readonly cause?: SqlError
}> {}
const isSchemaBehind = (error: unknown): error is SchemaBehind => error instanceof SchemaBehind

/**
 * The message that begins the transaction and waits for the lock lost its connection: the server had
 * closed it while it sat idle in the pool (a restart, `idle_session_timeout`), or ended it during the wait.
 * Nothing was committed, so one more attempt on a new connection is safe, within what is left of the bound.
 */
class BeginFailed extends Data.TaggedError("BeginFailed")<{ readonly cause: SqlError }> {}
const isBeginFailed = (error: unknown): error is BeginFailed => error instanceof BeginFailed

/**
 * No answer from the server (the socket closed), or its goodbye: SQLSTATE 57P01-57P05 (shutdown, idle
 * timeout). Not a server that went silent: that one is stalled, and another attempt would wait as long.
 */
const connectionGone = (error: SqlError) => {
  const { sqlState } = sqlStateOf(error)
  return (sqlState === undefined && !(error.cause instanceof ServerSilent)) || sqlState?.startsWith("57P") === true
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

/**
 * PostgreSQL's "undefined table" and "undefined column": the lock's message ran on a database the
 * migrations have not reached yet.
 */
const schemaMissing = new Set(["42P01", "42703"])

/** The lock's message failed: a schema to migrate, a connection to try again, or the step's failure. */
const beginFailure = (step: string) => (error: SqlError) => {
  const { sqlState } = sqlStateOf(error)
  return sqlState !== undefined && schemaMissing.has(sqlState)
    ? new SchemaBehind({ version: 0, cause: error })
    : connectionGone(error)
    ? new BeginFailed({ cause: error })
    : DatabaseError.fromSqlError(step)(error)
}

/** Provided to a locked body: how long it waited for the lock, for reports and spans. */
export class LockWait extends Context.Tag("ai-provider-seed/LockWait")<LockWait, { readonly waitedMs: number }>() {}

const idleInTransaction = Duration.seconds(60)

const lockTimeoutOf = (options: LockOptions) => Duration.decode(options.timeout ?? defaultLockTimeout)

/** The rows of the body's first read: those that came with the lock, or the read run now. */
export type ReadRows = Effect.Effect<ReadonlyArray<unknown>, SqlError>

const noRows: ReadRows = Effect.succeed([])

export const make = (primitives: LockPrimitives, checks: LockChecks) => {
  /**
   * Begins the transaction and takes the lock: at once when it is free, else waiting for what is left of
   * the bound (the message that began counts in it).
   */
  const acquireBounded = (options: LockOptions, read: LockedRead | undefined, waitedBefore: number) =>
    Effect.gen(function*() {
      const mode = options.mode ?? "exclusive"
      const timeout = lockTimeoutOf(options)
      const serverTimeout = Duration.sum(timeout, serverGrace)
      const settings: TransactionSettings = {
        readOnly: options.readOnly ?? false,
        timeouts: { statement: serverTimeout, lock: serverTimeout, idleInTransaction }
      }
      const started = yield* Clock.currentTimeMillis
      const began = yield* primitives.begin(mode, settings, read?.statement).pipe(
        Effect.mapError(beginFailure(read?.step ?? "take the seed lock"))
      )
      if (began.granted) {
        yield* Effect.annotateCurrentSpan("lock_wait_ms", waitedBefore)
        return { waitedMs: waitedBefore, probe: began.probe, rows: Effect.succeed(began.rows) }
      }
      const spentMs = (yield* Clock.currentTimeMillis) - started
      const { value: probe, waitedMs } = yield* waitBounded({
        lock: seedLock,
        timeout: Duration.millis(Math.max(0, Duration.toMillis(timeout) - spentMs)),
        waitedBefore: waitedBefore + spentMs,
        acquire: primitives.acquire(mode).pipe(
          Effect.mapError((error) => connectionGone(error) ? new BeginFailed({ cause: error }) : error)
        ),
        holders: primitives.holders
      }).pipe(
        Effect.catchTag("SqlError", (error) => Effect.fail(DatabaseError.fromSqlError("take the seed lock")(error)))
      )
      yield* Effect.annotateCurrentSpan("lock_wait_ms", waitedMs)
      return { waitedMs, probe, rows: read === undefined ? noRows : primitives.read(read.statement) }
    }).pipe(Effect.withSpan("SeedLock.acquire"))

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

  const attempt = <A, E, R>(
    read: LockedRead | undefined,
    body: (rows: ReadRows) => Effect.Effect<A, E, R>,
    options: LockOptions,
    waitedBefore = 0
  ) =>
    Effect.gen(function*() {
      const locked = Effect.flatMap(
        acquireBounded(options, read, waitedBefore),
        ({ probe, rows, waitedMs }) =>
          Effect.zipRight(check(probe, options), Effect.provideService(body(rows), LockWait, { waitedMs }))
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

  const attemptOnLiveConnection = <A, E, R>(
    read: LockedRead | undefined,
    body: (rows: ReadRows) => Effect.Effect<A, E, R>,
    options: LockOptions
  ) =>
    Effect.flatMap(Clock.currentTimeMillis, (started) =>
      attempt(read, body, options).pipe(
        Effect.catchIf(isBeginFailed, () =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            // The second attempt waits only for what is left of the bound, and counts the first one's wait.
            const spentMs = now - started
            const leftMs = Math.max(0, Duration.toMillis(lockTimeoutOf(options)) - spentMs)
            return attempt(read, body, { ...options, timeout: Duration.millis(leftMs) }, spentMs)
          })),
        Effect.catchIf(isBeginFailed, ({ cause }) => Effect.fail(connectionLostTwice(cause)))
      ))

  /** The schema is still behind after migrating: what the database answered, or the version it is at. */
  const stillBehind = ({ cause, version }: SchemaBehind) => {
    const needed = `this program needs migration ${latestMigration}`
    if (cause === undefined) {
      return new DatabaseError({
        step: "check the schema",
        reason: `the schema is at migration ${version} after migrating, but ${needed}`
      })
    }
    const error = DatabaseError.fromSqlError("check the schema")(cause)
    return new DatabaseError({ ...error, reason: `${error.reason} after migrating (${needed})` })
  }

  /**
   * Runs `body` in one transaction that holds the seed lock, waiting at most `timeout` for it (and for the
   * migrations lock, when the schema is behind), on a current schema with matching encryption keys. A
   * schema that is behind is migrated first, in a transaction of its own, then the body runs in a new
   * transaction. `read`, when given, goes in the lock's own message; the body gets its rows.
   */
  const locked = <A, E, R>(
    read: LockedRead | undefined,
    body: (rows: ReadRows) => Effect.Effect<A, E, R>,
    options: LockOptions = {}
  ) =>
    attemptOnLiveConnection(read, body, options).pipe(
      Effect.catchIf(isSchemaBehind, () =>
        Effect.zipRight(
          Effect.interruptible(checks.migrate({ lockTimeout: options.timeout })),
          attemptOnLiveConnection(read, body, options).pipe(
            Effect.catchIf(isSchemaBehind, (behind) => Effect.fail(stillBehind(behind)))
          )
        ))
    )

  return {
    withLock: <A, E, R>(body: Effect.Effect<A, E, R>, options?: LockOptions) => locked(undefined, () => body, options),
    /**
     * `withLock` for a body that starts with `read`: its rows come with the lock when the lock is free (one
     * round trip less), else the read runs once the lock is granted. The body maps the read's SqlError.
     */
    withLockReading: <A, E, R>(
      read: LockedRead,
      body: (rows: ReadRows) => Effect.Effect<A, E, R>,
      options?: LockOptions
    ) => locked(read, body, options)
  }
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

/**
 * The lock (tried, or waited for), and after it the schema's version and the registered encryption keys
 * (our constants only). PostgreSQL evaluates the select list in order: the probe reads after the lock.
 */
const lockStatement = (mode: LockMode, wait: boolean) =>
  `select pg_${wait ? "" : "try_"}advisory_xact_lock${mode === "shared" ? "_shared" : ""}(${
    String(seedLock.id)
  }::bigint)${wait ? "::text" : ""} as granted,
    (select coalesce(max(migration_id), 0) from "${migrationsTable}")::int as schema_version,
    (select coalesce(json_agg(json_build_object(
      'active_key_digest', active_key_digest, 'revoked_key_digest', revoked_key_digest, 'test', test)), '[]')
     from dbcrypt_keys) as key_rows`

/**
 * `sql.withTransaction`, except that BEGIN is not a message of its own: `begin` sends it with the
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

const TriedRow = Schema.Struct({ granted: Schema.Boolean, ...ProbeRow.fields })

/** @effect/sql-pg's rows of a message of several statements: one array per statement. */
const ResultSets = Schema.Array(Schema.Array(Schema.Unknown))

const probeOf = (row: typeof ProbeRow.Type): LockProbe => ({
  schemaVersion: row.schema_version,
  keyRows: row.key_rows
})

/** The answer to `begin`: the lock's row is the last but one statement's with a read, else the last's. */
const decodeBegan = (withRead: boolean) => (results: ReadonlyArray<unknown>) =>
  Schema.decodeUnknown(ResultSets)(results).pipe(
    Effect.flatMap((sets) =>
      Effect.map(
        Schema.decodeUnknown(TriedRow)(sets.at(withRead ? -2 : -1)?.[0]),
        (row): Began => ({ granted: row.granted, probe: probeOf(row), rows: withRead ? sets.at(-1) ?? [] : [] })
      )
    ),
    Effect.orDie
  )

export const sqlPrimitives = (sql: SqlClient.SqlClient): LockPrimitives => ({
  transaction: transactionWith(sql),
  begin: (mode, settings, read) =>
    Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (transaction) =>
      // Nested in a transaction of the caller's, its SAVEPOINT stands for BEGIN.
      sql.unsafe(
        `${Option.exists(transaction, ([, depth]) => depth > 0) ? "" : "BEGIN; "}${settingsStatement(settings)}; ${
          lockStatement(mode, false)
        }${read === undefined ? "" : `; ${read}`}`
      )).pipe(Effect.flatMap(decodeBegan(read !== undefined))),
  acquire: (mode) =>
    Effect.flatMap(
      sql.unsafe(lockStatement(mode, true)),
      (rows) => Effect.orDie(Effect.map(Schema.decodeUnknown(ProbeRow)(rows[0]), probeOf))
    ),
  read: (statement) => sql.unsafe(statement),
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
