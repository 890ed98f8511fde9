/**
 * The seed: a desired set (derived and hashed before any database access) -> one transaction holding
 * the seed lock (schema and keys checked) -> load -> decide -> one batched insert of providers, keys and
 * audit rows -> commit. Any failure rolls everything back.
 */
import { Array as Arr, Data, type Duration, Effect, Either, LogLevel } from "effect"
import { insertionsFor } from "../audit/Insertions.js"
import { HashConflict, type UnreadableStoredProvider } from "../core/Errors.js"
import { Ids, stamp } from "../core/Ids.js"
import { countActions, ProviderReport } from "../core/Plan.js"
import type { DesiredSet } from "../core/Provider.js"
import { decide, type Decision, hashed, type HashedProvider } from "../core/Reconcile.js"
import { Encryption } from "../crypto/Encryption.js"
import { type EncryptionState, encryptionState } from "../crypto/EncryptionState.js"
import type { LockTimeout } from "../db/AdvisoryLock.js"
import type { DatabaseError } from "../db/DatabaseError.js"
import { decryptionFailureOf } from "../db/ProviderRows.js"
import { providersRead, ProviderStore, type StoreError } from "../db/ProviderStore.js"
import { LockWait, SeedLock } from "../db/SeedLock.js"
import { type LogLine, logLines } from "../telemetry/LogLines.js"
import { SeedReport } from "./SeedReport.js"

export type ConflictPolicy = "fail" | "warn"

export interface SeedOptions {
  /** Same lock, reads and decisions, then rollback: the report says what would happen. */
  readonly dryRun?: boolean
  /** How long to wait for the seed lock (default 30 s). */
  readonly lockTimeout?: Duration.DurationInput
  /**
   * `fail` (default): a conflicting provider fails the whole run. `warn`: it is left untouched and
   * reported as `conflict`, and the missing providers are still inserted.
   */
  readonly onConflict?: ConflictPolicy
}

/** Every way a seed of a valid desired set can fail. */
export type SeedError = HashConflict | UnreadableStoredProvider | LockTimeout | StoreError | DatabaseError

/** Carries a dry run's report out of its transaction, so that the transaction rolls back. */
class DryRunRollback extends Data.TaggedError("DryRunRollback")<{ readonly report: SeedReport }> {}

/**
 * Missing providers written per statement (with their keys and audit rows, about 1.3 kB of JSON each):
 * up to this many, one statement; beyond, the rows are built and sent a part at a time, each part built
 * while the server writes the one before (`ProviderStore.insertAll`), so the statement text and the
 * driver's buffer for it never hold all of a first seed of 50,000.
 */
const providersPerStatement = 500

const actionOf = {
  insert: "inserted",
  unchanged: "unchanged",
  skipped_deleted: "skipped_deleted",
  conflict: "conflict"
} as const

const warningsOf = (decision: Decision, policy: ConflictPolicy): ReadonlyArray<string> => {
  switch (decision.action) {
    case "unchanged":
      return decision.keyDrift === undefined ? [] : [decision.keyDrift]
    case "skipped_deleted":
      return ["soft-deleted in the database: not recreated from the environment (restore it to use it again)"]
    case "conflict":
      return [
        policy === "warn"
          ? "differs from the database and was left untouched (--on-conflict warn): adopt it or change the environment"
          : `differs from the database and blocks the start: \`providers adopt ${decision.provider.name} --yes\`, \`providers delete ${decision.provider.name}\`, or change the environment`
      ]
    case "insert":
      return []
  }
}

const providerReport = (policy: ConflictPolicy) => (decision: Decision) =>
  new ProviderReport({
    name: decision.provider.name,
    type: decision.provider.type,
    source: decision.provider.source,
    action: actionOf[decision.action],
    keys_inserted: decision.action === "insert" ? decision.provider.keys.length : 0,
    differences: decision.action === "conflict" ? decision.differences : [],
    warnings: warningsOf(decision, policy)
  }, true)

/**
 * The report of a run whose environment configures no provider: no lock, no transaction, no database at
 * all (SPEC §2), so the command line need not even connect.
 */
export const nothingToSeed = Effect.fnUntraced(function*(
  set: DesiredSet,
  options: SeedOptions,
  encryption: EncryptionState
) {
  yield* Effect.logInfo("no AI providers configured in the environment: nothing to seed")
  return new SeedReport({
    outcome: options.dryRun === true ? "planned" : "applied",
    request_id: null,
    providers: [],
    skipped: set.skipped,
    warnings: set.warnings,
    counts: countActions([], set.skipped),
    lock_wait_ms: null,
    encryption
  }, true)
})

/**
 * A line per provider that was (or would be) written, skipped, conflicting or warned about, and one
 * summary line: 10,000 unchanged providers are one line, not 10,000.
 */
const logDecisions = (report: SeedReport) =>
  Effect.gen(function*() {
    const verb = report.outcome === "planned" ? "would be " : ""
    yield* logLines(report.providers.flatMap((provider): Array<LogLine> => {
      const annotations = { provider: provider.name, action: provider.action }
      if (provider.warnings.length > 0) {
        return provider.warnings.map((message) => ({ level: LogLevel.Warning, message, annotations }))
      }
      return provider.action === "unchanged"
        ? []
        : [{ level: LogLevel.Info, message: `provider ${verb}${provider.action}`, annotations }]
    }))
    yield* Effect.logInfo(report.outcome === "planned" ? "seed planned" : "seed applied").pipe(
      Effect.annotateLogs(report.counts)
    )
  })

export class Seeder extends Effect.Service<Seeder>()("ai-provider-seed/Seeder", {
  effect: Effect.gen(function*() {
    const store = yield* ProviderStore
    const lock = yield* SeedLock
    const encryption = encryptionState(yield* Encryption)

    /** Inside the locked transaction: only load (the providers came with the lock's probe), compare and write. */
    const reconcile = (
      desired: ReadonlyArray<HashedProvider>,
      set: DesiredSet,
      options: SeedOptions,
      requestId: string
    ) =>
    (loaded: unknown) =>
      Effect.gen(function*() {
        const stored = yield* store.loadFrom(loaded).pipe(Effect.withSpan("Seed.load"))
        const decisions = yield* Effect.suspend(() =>
          Either.match(decide(desired, stored), {
            // A configured provider whose row does not decrypt: the cipher's own error, with its fix.
            onLeft: (unreadable) => {
              const row = stored.find((row) => row.name === unreadable.provider)
              return Effect.fail((row === undefined ? undefined : decryptionFailureOf(row)) ?? unreadable)
            },
            onRight: Effect.succeed
          })
        ).pipe(Effect.withSpan("Seed.decide"))
        const policy = options.onConflict ?? "fail"
        const providers = decisions.map(providerReport(policy))
        const counts = countActions(providers, set.skipped)
        const conflicts = decisions.flatMap((decision) =>
          decision.action === "conflict"
            ? [{ provider: decision.provider.name, differences: decision.differences }]
            : []
        )
        // A dry run is a plan: it shows the conflicts instead of failing on them.
        if (Arr.isNonEmptyReadonlyArray(conflicts) && policy === "fail" && options.dryRun !== true) {
          return yield* HashConflict.of(conflicts, { providers, counts })
        }
        const report = new SeedReport({
          outcome: options.dryRun === true ? "planned" : "applied",
          request_id: requestId,
          providers,
          skipped: set.skipped,
          warnings: set.warnings,
          counts,
          lock_wait_ms: (yield* LockWait).waitedMs,
          encryption
        }, true)
        const missing = decisions.flatMap((decision) => decision.action === "insert" ? [decision.provider] : [])
        if (options.dryRun !== true && missing.length > 0) {
          const now = yield* stamp
          yield* store.insertAll(
            Arr.chunksOf(missing, providersPerStatement).map((part) => () => insertionsFor(now, part, requestId))
          ).pipe(Effect.withSpan("Seed.write"))
        }
        yield* logDecisions(report)
        return options.dryRun === true ? yield* new DryRunRollback({ report }) : report
      })

    /**
     * Reconciles a desired set with the database (migrating it first when it is behind: see `SeedLock`).
     * The set was derived (and so validated) from the environment before: nothing here can be a
     * configuration error. An empty set returns at once: no lock, no transaction.
     */
    const seed = Effect.fn("Seed.seed")(function*(set: DesiredSet, options: SeedOptions = {}) {
      const desired = hashed(set.providers)
      if (desired.length === 0) return yield* nothingToSeed(set, options, encryption)
      const requestId = (yield* Ids).uuid()
      return yield* lock.withLockReading(providersRead, reconcile(desired, set, options, requestId), {
        timeout: options.lockTimeout
      }).pipe(
        Effect.catchTag("DryRunRollback", ({ report }) => Effect.succeed(report)),
        Effect.annotateLogs("request_id", requestId)
      )
    })

    return { seed }
  }),
  dependencies: [ProviderStore.Default, SeedLock.Default]
}) {}
