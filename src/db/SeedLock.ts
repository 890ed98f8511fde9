/**
 * The seed lock: PostgreSQL's transaction-scoped advisory lock `LockIDAIProvidersEnvSeed`, taken
 * first thing in the transaction it protects. Its lifetime is the transaction's, so commit, rollback,
 * a defect or an interruption all release it and nothing leaks into the pool; and it still holds
 * behind PgBouncer in transaction mode, where session locks do not.
 *
 * Every transaction that reads or writes providers runs here, so the checks it needs live here too, in
 * the probe that follows the lock: the schema's version (behind: migrate under the migrations lock, then try
 * once more) and the encryption keys registered in `dbcrypt_keys` (they must match the configured ones
 * before anything is read or written). The transaction sets its own timeouts, whatever the database's
 * defaults are.
 *
 * One message begins it: BEGIN (read committed, whatever the database's default: each statement after the
 * lock must see what the lock's last holder committed), those settings and the lock, waited for within the
 * bound. The probe is the next message, written at the same time (pipelined: one round trip for both), so
 * that it reads what is there once the lock is granted, not what was there when the wait began; the body's
 * first read (the seed's load of the stored providers) goes in that same statement, so a no-op seed is
 * three statements besides BEGIN and COMMIT. What fails in it is the read's step.
 */
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import type { Cause } from "effect"
import { Clock, Context, Data, Duration, Effect, Exit, Option, Ref, Schema, Scope } from "effect"
import Pg from "pg"
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
import { pipelined } from "./Pipelined.js"
import { failingPaths } from "./ProviderRows.js"

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
 * A read that a locked body starts with, sent in the probe's statement: a query of one row and one column
 * (constant SQL text without parameters), and the step its failures (and the probe's) are reported at.
 */
export interface LockedRead {
  readonly statement: string
  readonly step: string
}

/** What the probe reads once the lock is held. */
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

/** What the statement after the lock answers. */
export interface Probed {
  readonly probe: LockProbe
  /** The value of the read sent with it; undefined without one. */
  readonly read: unknown
}

/** What the bounded lock needs from the database; `sqlPrimitives` gives the SQL ones, tests give their own. */
export interface LockPrimitives {
  /** Runs `body` in a transaction that `acquire` begins: COMMIT when it succeeds, else ROLLBACK. */
  readonly transaction: <A, E, R>(body: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
  /**
   * Begins the transaction with its settings and waits for the lock, the probe (with `read` beside it, one
   * statement) written behind it: one round trip (10 ms each to a database 5 ms away). Succeeds once the
   * lock is granted, with the probe's answer to come.
   */
  readonly acquire: (
    mode: LockMode,
    settings: TransactionSettings,
    read: string | undefined
  ) => Effect.Effect<Effect.Effect<Probed, SqlError>, SqlError>
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
 * The schema is older than this program: migrate, then try again. `cause`: the probe's statement failed on
 * a table or column that the migrations add, so the version was not read.
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
 * PostgreSQL's "undefined table" and "undefined column": the probe (or the read beside it) ran on a
 * database the migrations have not reached yet.
 */
const schemaMissing = new Set(["42P01", "42703"])

/**
 * The probe's statement failed: a schema to migrate, a connection to try again (nothing was written yet),
 * or the step's failure.
 */
const probeFailure = (step: string) => (error: SqlError) => {
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

export const make = (primitives: LockPrimitives, checks: LockChecks) => {
  /** Begins the transaction and waits for the lock (bounded), then probes and reads (in the same message). */
  const acquireBounded = (options: LockOptions, read: LockedRead | undefined, waitedBefore: number) =>
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
        acquire: primitives.acquire(options.mode ?? "exclusive", settings, read?.statement).pipe(
          Effect.mapError((error) => connectionGone(error) ? new BeginFailed({ cause: error }) : error)
        ),
        holders: primitives.holders
      }).pipe(
        Effect.catchTag("SqlError", (error) => Effect.fail(DatabaseError.fromSqlError("take the seed lock")(error)))
      )
      yield* Effect.annotateCurrentSpan("lock_wait_ms", waitedMs)
      const probed = yield* probe.pipe(Effect.mapError(probeFailure(read?.step ?? "take the seed lock")))
      return { waitedMs, ...probed }
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
    body: (read: unknown) => Effect.Effect<A, E, R>,
    options: LockOptions,
    waitedBefore = 0
  ) =>
    Effect.gen(function*() {
      const locked = Effect.flatMap(
        acquireBounded(options, read, waitedBefore),
        ({ probe, read, waitedMs }) =>
          Effect.zipRight(check(probe, options), Effect.provideService(body(read), LockWait, { waitedMs }))
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
    body: (read: unknown) => Effect.Effect<A, E, R>,
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
   * transaction. `read`, when given, goes in the probe's statement; the body gets its value.
   */
  const locked = <A, E, R>(
    read: LockedRead | undefined,
    body: (read: unknown) => Effect.Effect<A, E, R>,
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
    /** `withLock` for a body that starts with `read`, which the probe's statement runs: the body gets its value. */
    withLockReading: <A, E, R>(
      read: LockedRead,
      body: (read: unknown) => Effect.Effect<A, E, R>,
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

/** The lock (our constants only). */
const lockStatement = (mode: LockMode) =>
  `select pg_advisory_xact_lock${mode === "shared" ? "_shared" : ""}(${String(seedLock.id)}::bigint)::text as locked`

/** The schema's version and the registered encryption keys, and the read's value beside them. */
const probeStatement = (read: string | undefined) =>
  `select (select coalesce(max(migration_id), 0) from "${migrationsTable}")::int as schema_version,
    (select coalesce(json_agg(json_build_object(
      'active_key_digest', active_key_digest, 'revoked_key_digest', revoked_key_digest, 'test', test)), '[]')
     from dbcrypt_keys) as key_rows${
    read === undefined ? "" : `,
    (${read}) as read`
  }`

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

/** The probe's row as @effect/sql-pg decodes it (over a driver that is not pipelined). */
const ProbedRow = Schema.Struct({ ...ProbeRow.fields, read: Schema.optional(Schema.Unknown) })

/** The probe's row as PostgreSQL's text, from a pipelined answer (Pipelined.ts). */
const ProbedText = Schema.Struct({
  schema_version: Schema.NumberFromString,
  key_rows: Schema.parseJson(ProbeRow.fields.key_rows),
  read: Schema.optional(Schema.parseJson())
})

/**
 * The probe's row, by one of the schemas above. Ours and PostgreSQL's own JSON, so a failure is a defect;
 * it names where, never the value (the read holds the stored keys).
 */
const decodeProbed = <I>(schema: Schema.Schema<typeof ProbedRow.Type, I>) => (row: unknown) =>
  Schema.decodeUnknown(schema)(row).pipe(
    Effect.map((row): Probed => ({
      probe: { schemaVersion: row.schema_version, keyRows: row.key_rows },
      read: row.read
    })),
    Effect.orDieWith((error) =>
      new Error(`the seed lock's probe did not decode at ${failingPaths(error, "(the row)").join(", ")}`)
    )
  )

/** `object[key]`, when `object` is an object that has it. */
const fieldOf = (object: unknown, key: string): unknown =>
  typeof object === "object" && object !== null && key in object ? Reflect.get(object, key) : undefined

/**
 * The node-postgres client under an @effect/sql-pg connection (its `pg` field), and its backend's pid; none
 * when its queries have a `query_timeout` (node-postgres times each query it is given, and one of two
 * pipelined queries timed out on its own would leave the client out of step with the server).
 */
const pgClientOf = (connection: object) => {
  const client = fieldOf(connection, "pg")
  const pid = fieldOf(client, "processID")
  const queryTimeout = fieldOf(fieldOf(client, "connectionParameters"), "query_timeout")
  return client instanceof Pg.Client && typeof pid === "number" && !queryTimeout ? { client, pid } : undefined
}

/** Cancels what a backend runs, from a connection of its own: the transaction's is busy. */
const cancelBackend = (sql: SqlClient.SqlClient, pid: number) =>
  Effect.scoped(
    Effect.flatMap(sql.reserve, (connection) =>
      connection.executeUnprepared("select pg_cancel_backend($1)", [pid], undefined))
  ).pipe(Effect.ignore)

/**
 * Begins the transaction, sets its timeouts and takes the lock (one message), with the probe and the
 * read pipelined behind it (Pipelined.ts): succeeds when the lock's message is answered, with the probe's
 * answer to come. The bound is on the lock's message alone; the probe reads once the lock is held. Over a
 * driver other than node-postgres (or with a `query_timeout`), the probe is sent once the lock is granted.
 */
const acquireWith = (sql: SqlClient.SqlClient): LockPrimitives["acquire"] => (mode, settings, read) =>
  Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (transaction) => {
    // Nested in a transaction of the caller's, its SAVEPOINT stands for BEGIN (and the caller chose the
    // isolation).
    const locking = `${
      Option.exists(transaction, ([, depth]) => depth > 0) ? "" : "BEGIN ISOLATION LEVEL READ COMMITTED; "
    }${settingsStatement(settings)}; ${lockStatement(mode)}`
    const probing = probeStatement(read)
    const pg = Option.getOrUndefined(Option.flatMapNullable(transaction, ([connection]) => pgClientOf(connection)))
    return pg === undefined
      ? Effect.as(sql.unsafe(locking), Effect.flatMap(sql.unsafe(probing), (rows) => decodeProbed(ProbedRow)(rows[0])))
      : Effect.map(
        pipelined(pg.client, locking, probing, cancelBackend(sql, pg.pid)),
        ([, probed]) => Effect.flatMap(probed, (rows) => decodeProbed(ProbedText)(rows[0]))
      )
  })

export const sqlPrimitives = (sql: SqlClient.SqlClient): LockPrimitives => ({
  transaction: transactionWith(sql),
  acquire: acquireWith(sql),
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
