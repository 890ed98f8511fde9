/**
 * A bounded wait for a transaction-scoped advisory lock, shared by the seed lock and the migrations
 * lock: the client gives up at the bound (the server's `lock_timeout`, set a little longer by the caller,
 * is the backstop), and the failure names who holds the lock.
 */
import type { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { Clock, Duration, Effect, Option, Schema } from "effect"
import { sqlStateOf } from "./DatabaseError.js"

export const defaultLockTimeout = Duration.seconds(30)

/** How much longer the server waits than the client, in case the client-side cancel cannot get through. */
export const serverGrace = Duration.seconds(5)

export interface AdvisoryLock {
  readonly id: bigint
  /** What the lock protects, for messages: "the seed lock", "the migrations lock". */
  readonly name: string
  /** What a holder is probably doing, for the fix. */
  readonly holderHint: string
}

/** A session holding the lock, as `pg_stat_activity` describes it. */
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
  /** "the seed lock", "the migrations lock". */
  lock: Schema.String,
  waitedMs: Schema.Number,
  holders: Schema.Array(LockHolder),
  holderHint: Schema.String
}) {
  override get message() {
    const held = this.holders.length === 0
      ? "no session holds it any more"
      : `held by ${this.holders.map((holder) => holder.describe()).join("; ")}`
    return `Gave up after ${
      (this.waitedMs / 1000).toFixed(1)
    } s waiting for ${this.lock} (advisory lock ${this.lockId}), ${held}. ${this.holderHint}: retry, raise --lock-timeout, or end the holding session (select pg_terminate_backend(pid)).`
  }
}

const LockHolderRow = Schema.Tuple(
  Schema.Number,
  Schema.String,
  Schema.NullOr(Schema.String),
  Schema.NullOr(Schema.DateFromSelf),
  Schema.String
)
const decodeHolders = Schema.decodeUnknown(Schema.Array(LockHolderRow))

/**
 * Who holds the lock in this database (the same lock id in another database is another lock), asked on a
 * connection of its own: the waiting transaction's is busy and may be aborted.
 */
export const holdersOf = (sql: SqlClient.SqlClient, id: bigint) =>
  Effect.scoped(Effect.flatMap(sql.reserve, (connection) =>
    connection.executeValues(
      `select l.pid, coalesce(a.application_name, ''), host(a.client_addr), a.xact_start, l.mode
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
       where l.locktype = 'advisory' and l.granted and l.objsubid = 1
         and l.database = (select oid from pg_database where datname = current_database())
         and l.classid = ($1::bigint >> 32)::oid and l.objid = ($1::bigint & 4294967295)::oid
       order by a.xact_start`,
      [String(id)]
    ))).pipe(
      Effect.flatMap(decodeHolders),
      Effect.map((rows) =>
        rows.map(([pid, applicationName, clientAddress, transactionStart, mode]) =>
          new LockHolder({ pid, applicationName, clientAddress, transactionStart, mode })
        )
      ),
      Effect.orDie
    )

/**
 * Runs `acquire` (the statement that waits for the lock) for at most `timeout`. PostgreSQL's own
 * `lock_timeout` (SQLSTATE 55P03) counts as the bound too. Returns what the statement returned and how
 * long it waited.
 */
export const waitBounded = <A, E>(options: {
  readonly lock: AdvisoryLock
  readonly timeout: Duration.DurationInput
  /** Milliseconds an earlier attempt already waited (on a connection that was lost), counted in the wait. */
  readonly waitedBefore?: number
  readonly acquire: Effect.Effect<A, E | SqlError>
  readonly holders: Effect.Effect<ReadonlyArray<LockHolder>, SqlError>
}) =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const acquired = yield* options.acquire.pipe(
      Effect.timeoutOption(options.timeout),
      Effect.catchIf((error) => isLockNotAvailable(error), () => Effect.succeedNone)
    )
    const waitedMs = (yield* Clock.currentTimeMillis) - started + (options.waitedBefore ?? 0)
    if (Option.isSome(acquired)) return { waitedMs, value: acquired.value }
    const holders = yield* options.holders.pipe(
      Effect.catchAll((error) =>
        Effect.logWarning(`could not list the holders of ${options.lock.name}`).pipe(
          Effect.annotateLogs("reason", error.message),
          Effect.as([])
        )
      )
    )
    return yield* new LockTimeout({
      lockId: String(options.lock.id),
      lock: options.lock.name,
      waitedMs,
      holders,
      holderHint: options.lock.holderHint
    })
  })

const isLockNotAvailable = (error: unknown) => error instanceof SqlError && sqlStateOf(error).sqlState === "55P03"
