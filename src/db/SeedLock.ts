/**
 * The seed lock: PostgreSQL's transaction-scoped advisory lock `LockIDAIProvidersEnvSeed`, taken
 * first thing in the transaction it protects. Its lifetime is the transaction's, so commit, rollback,
 * a defect or an interruption all release it and nothing leaks into the pool; and it still holds
 * behind PgBouncer in transaction mode, where session locks do not.
 */
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import type { Cause } from "effect"
import { Clock, Context, Duration, Effect, Exit, Option, Ref, Schema } from "effect"
import { LockIDAIProvidersEnvSeed } from "../core/LockIds.js"
import { DatabaseError, sqlStateOf } from "./DatabaseError.js"

export const seedLockId = LockIDAIProvidersEnvSeed
export const defaultLockTimeout = Duration.seconds(30)

/** A session holding (or queued ahead for) the lock, as `pg_stat_activity` describes it. */
export class LockHolder extends Schema.Class<LockHolder>("LockHolder")({
  pid: Schema.Number,
  applicationName: Schema.String,
  clientAddress: Schema.NullOr(Schema.String),
  transactionStart: Schema.NullOr(Schema.DateFromSelf),
  mode: Schema.String
}) {
  describe() {
    const since = this.transactionStart === null
      ? ""
      : `, in a transaction since ${this.transactionStart.toISOString()}`
    return `pid ${this.pid} (application "${this.applicationName || "unknown"}", client ${
      this.clientAddress ?? "local"
    }${since})`
  }
}

export class LockTimeout extends Schema.TaggedError<LockTimeout>()("LockTimeout", {
  lockId: Schema.String,
  waitedMs: Schema.Number,
  holders: Schema.Array(LockHolder)
}) {
  override get message() {
    const held = this.holders.length === 0
      ? "no session holds it any more"
      : `held by ${this.holders.map((holder) => holder.describe()).join("; ")}`
    return `Gave up after ${
      (this.waitedMs / 1000).toFixed(1)
    } s waiting for the seed lock (advisory lock ${this.lockId}), ${held}. Another replica may be seeding: retry, raise --lock-timeout, or end the holding session (select pg_terminate_backend(pid)).`
  }
}

export type LockMode = "exclusive" | "shared"

export interface LockOptions {
  readonly timeout?: Duration.DurationInput | undefined
  /** Readers share the lock with each other and wait only for a seed. */
  readonly mode?: LockMode
  readonly readOnly?: boolean
}

/** What the bounded lock needs from the database; `layer` gives the SQL ones, tests give their own. */
export interface LockPrimitives {
  readonly transaction: <A, E, R>(body: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
  readonly begin: (options: { readonly readOnly: boolean; readonly serverTimeout: Duration.Duration }) => Effect.Effect<
    void,
    SqlError
  >
  /** Waits for the lock inside the current transaction. */
  readonly acquire: (mode: LockMode) => Effect.Effect<void, SqlError>
  /** Who holds the lock, asked on a connection of its own (the waiting transaction may be aborted). */
  readonly holders: Effect.Effect<ReadonlyArray<LockHolder>, SqlError>
}

/** Provided to a locked body: how long it waited for the lock, for reports and spans. */
export class LockWait extends Context.Tag("ai-provider-seed/LockWait")<LockWait, { readonly waitedMs: number }>() {}

const decodeHolders = (rows: ReadonlyArray<ReadonlyArray<unknown>>) =>
  Schema.decodeUnknown(Schema.Array(LockHolderRow))(rows).pipe(
    Effect.map((holders) =>
      holders.map(([pid, applicationName, clientAddress, transactionStart, mode]) =>
        new LockHolder({ pid, applicationName, clientAddress, transactionStart, mode })
      )
    ),
    Effect.orDie
  )

const LockHolderRow = Schema.Tuple(
  Schema.Number,
  Schema.String,
  Schema.NullOr(Schema.String),
  Schema.NullOr(Schema.DateFromSelf),
  Schema.String
)

/** The server's own `lock_timeout` is a backstop, in case the client-side cancel cannot get through. */
const serverGrace = Duration.seconds(5)

export const make = (primitives: LockPrimitives) => {
  const timedOut = (started: number) =>
    Effect.gen(function*() {
      const waitedMs = (yield* Clock.currentTimeMillis) - started
      const holders = yield* primitives.holders.pipe(
        Effect.catchAll((error) =>
          Effect.logWarning("could not list the seed lock's holders").pipe(
            Effect.annotateLogs("reason", error.message),
            Effect.as([])
          )
        )
      )
      return yield* new LockTimeout({ lockId: String(seedLockId), waitedMs, holders })
    })

  const acquireBounded = (options: LockOptions) =>
    Effect.gen(function*() {
      const timeout = Duration.decode(options.timeout ?? defaultLockTimeout)
      const started = yield* Clock.currentTimeMillis
      yield* primitives.begin({
        readOnly: options.readOnly ?? false,
        serverTimeout: Duration.sum(timeout, serverGrace)
      })
      const acquired = yield* primitives.acquire(options.mode ?? "exclusive").pipe(
        Effect.timeoutOption(timeout),
        Effect.catchIf((error) => sqlStateOf(error).sqlState === "55P03", () => Effect.succeedNone)
      )
      if (Option.isNone(acquired)) return yield* timedOut(started)
      const waitedMs = (yield* Clock.currentTimeMillis) - started
      yield* Effect.annotateCurrentSpan("lock_wait_ms", waitedMs)
      return waitedMs
    }).pipe(
      Effect.catchTag("SqlError", (error) => Effect.fail(DatabaseError.fromSqlError("take the seed lock")(error))),
      Effect.withSpan("SeedLock.acquire")
    )

  /** Runs `body` in one transaction that holds the seed lock, waiting at most `timeout` for it. */
  const withLock = <A, E, R>(
    body: Effect.Effect<A, E, R>,
    options: LockOptions = {}
  ): Effect.Effect<A, E | LockTimeout | DatabaseError, Exclude<R, LockWait>> =>
    Effect.gen(function*() {
      const bodyFailure = yield* Ref.make(Option.none<Cause.Cause<E | LockTimeout | DatabaseError>>())
      // The commit span opens when the body ends, inside the transaction, and closes after COMMIT.
      const [result, commit] = yield* primitives.transaction(
        Effect.flatMap(acquireBounded(options), (waitedMs) => Effect.provideService(body, LockWait, { waitedMs }))
          .pipe(
            Effect.tapErrorCause((cause) => Ref.set(bodyFailure, Option.some(cause))),
            Effect.flatMap((result) =>
              Effect.map(Effect.makeSpan("SeedLock.commit"), (span) => [result, span] as const)
            )
          )
      ).pipe(
        // @effect/sql turns a failed COMMIT or ROLLBACK into a defect. Both mean the connection or the
        // server went away: nothing was committed by a rollback, and the body's own failure (if any)
        // is the one to report.
        Effect.catchSomeDefect((defect) =>
          defect instanceof SqlError
            ? Option.some(Effect.flatMap(
              Ref.get(bodyFailure),
              Option.match({
                onNone: () => Effect.fail(DatabaseError.fromSqlError("commit")(defect)),
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

  return { withLock }
}

export const sqlPrimitives = (sql: SqlClient.SqlClient): LockPrimitives => ({
  transaction: sql.withTransaction,
  begin: ({ readOnly, serverTimeout }) =>
    Effect.zipRight(
      readOnly ? sql`set transaction read only` : Effect.void,
      sql`select set_config('lock_timeout', ${`${Duration.toMillis(serverTimeout)}ms`}, true)`
    ).pipe(Effect.asVoid),
  acquire: (mode) =>
    (mode === "shared"
      ? sql`select pg_advisory_xact_lock_shared(${String(seedLockId)}::bigint)`
      : sql`select pg_advisory_xact_lock(${String(seedLockId)}::bigint)`).pipe(Effect.asVoid),
  // On a connection of its own: the waiting transaction's connection is busy and may be aborted.
  holders: Effect.scoped(Effect.flatMap(sql.reserve, (connection) =>
    connection.executeValues(
      `select l.pid, coalesce(a.application_name, ''), host(a.client_addr), a.xact_start, l.mode
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
       where l.locktype = 'advisory' and l.granted and l.objsubid = 1
         and l.classid = ($1::bigint >> 32)::oid and l.objid = ($1::bigint & 4294967295)::oid
       order by a.xact_start`,
      [String(seedLockId)]
    ))).pipe(Effect.flatMap(decodeHolders))
})

/** Requires the SQL client; tests build it over their own primitives with `SeedLock.make(make(...))`. */
export class SeedLock extends Effect.Service<SeedLock>()("ai-provider-seed/SeedLock", {
  effect: Effect.map(SqlClient.SqlClient, (sql) => make(sqlPrimitives(sql)))
}) {}
