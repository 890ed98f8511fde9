/**
 * The seed: desired set (pure) -> one transaction holding the seed lock -> load -> decide -> batched
 * inserts of providers, keys and audit rows -> commit. Any failure rolls everything back.
 */
import type { SqlClient } from "@effect/sql"
import { Data, type Duration, Effect, Layer } from "effect"
import type { ConfigError } from "effect/ConfigError"
import type { DesiredSet } from "../core/DesiredProvider.js"
import { derive } from "../core/DesiredProviders.js"
import { HashConflict, type IndexedNameCollision, type InvalidConfiguration } from "../core/Errors.js"
import type { ProviderEnvironment } from "../core/ProviderEnvironment.js"
import { decide, type Decision, rowsNeedingKeys, type StoredKeys } from "../core/Reconcile.js"
import type { DatabaseError } from "../db/DatabaseError.js"
import { migrate } from "../db/Migrations.js"
import type { StoredKeyRow } from "../db/ProviderRows.js"
import { ProviderStore, type StoreError } from "../db/ProviderStore.js"
import { type LockTimeout, LockWait, SeedLock } from "../db/SeedLock.js"
import { insertionsFor } from "./AuditEntries.js"
import { Ids } from "./Ids.js"
import { countActions, type ProviderReport, type SeedReport } from "./SeedReport.js"

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

export type SeedError =
  | InvalidConfiguration
  | IndexedNameCollision
  | HashConflict
  | LockTimeout
  | StoreError
  | DatabaseError
  | ConfigError

/** Carries a dry run's report out of its transaction, so that the transaction rolls back. */
class DryRunRollback extends Data.TaggedError("DryRunRollback")<{ readonly report: SeedReport }> {}

const groupKeys = (rows: ReadonlyArray<StoredKeyRow>): StoredKeys => {
  const keys = new Map<string, Array<StoredKeyRow["api_key"]>>()
  for (const row of rows) keys.set(row.provider_id, [...(keys.get(row.provider_id) ?? []), row.api_key])
  return keys
}

const actionOf = {
  insert: "inserted",
  unchanged: "unchanged",
  skipped_deleted: "skipped_deleted",
  conflict: "conflict"
} as const

const providerReport = (decision: Decision): ProviderReport => ({
  name: decision.provider.name,
  type: decision.provider.type,
  source: decision.provider.source,
  action: actionOf[decision.action],
  keys_inserted: decision.action === "insert" ? decision.provider.keys.length : 0,
  differences: decision.action === "conflict" ? decision.differences : [],
  warnings: decision.action === "unchanged" && decision.keyDrift !== undefined
    ? [decision.keyDrift]
    : decision.action === "skipped_deleted"
    ? ["soft-deleted in the database: not recreated from the environment (restore it to use it again)"]
    : decision.action === "conflict"
    ? ["differs from the database and was left untouched (--on-conflict warn): adopt it or change the environment"]
    : []
})

const logDecisions = (report: SeedReport) =>
  Effect.forEach(report.providers, (provider) => {
    const log = provider.warnings.length > 0
      ? Effect.forEach(provider.warnings, (warning) => Effect.logWarning(warning), { discard: true })
      : Effect.logInfo(
        report.outcome === "planned" ? `provider would be ${provider.action}` : `provider ${provider.action}`
      )
    return log.pipe(Effect.annotateLogs({ provider: provider.name, action: provider.action }))
  }, { discard: true })

/** The reconciliation inside the locked transaction, one span per phase. */
const reconcile = (desired: DesiredSet, options: SeedOptions, requestId: string) =>
  Effect.gen(function*() {
    const store = yield* ProviderStore
    const { keys, stored } = yield* Effect.gen(function*() {
      const stored = yield* store.loadProviders
      const keys = yield* store.loadKeys(rowsNeedingKeys(desired.providers, stored).map((row) => row.id))
      return { keys, stored }
    }).pipe(Effect.withSpan("Seed.load"))
    const decisions = yield* decide(desired.providers, stored, groupKeys(keys)).pipe(Effect.withSpan("Seed.decide"))
    const conflict = decisions.find((decision) => decision.action === "conflict")
    if (conflict !== undefined && options.onConflict !== "warn") {
      return yield* new HashConflict({ provider: conflict.provider.name, differences: conflict.differences })
    }
    const providers = decisions.map(providerReport)
    const report: SeedReport = {
      outcome: options.dryRun === true ? "planned" : "applied",
      request_id: requestId,
      providers,
      skipped: desired.skipped,
      warnings: desired.warnings,
      counts: countActions(providers, desired.skipped),
      lock_wait_ms: (yield* LockWait).waitedMs
    }
    if (options.dryRun !== true) {
      yield* Effect.gen(function*() {
        const inserts = yield* insertionsFor(
          decisions.flatMap((decision) => decision.action === "insert" ? [decision.provider] : []),
          requestId
        )
        yield* store.insertProviders(inserts.providers)
        yield* store.insertKeys(inserts.keys)
        yield* store.insertAuditRows(inserts.audit)
      }).pipe(Effect.withSpan("Seed.write"))
    }
    yield* logDecisions(report)
    return options.dryRun === true ? yield* new DryRunRollback({ report }) : report
  })

/** The seed of a derived desired set, over the store and lock services. */
export const seedDesired = Effect.fn("Seed.seedDesired")(function*(desired: DesiredSet, options: SeedOptions = {}) {
  if (desired.providers.length === 0) {
    yield* Effect.logInfo("no AI providers configured in the environment: nothing to seed")
    return {
      outcome: options.dryRun === true ? "planned" : "applied",
      request_id: null,
      providers: [],
      skipped: desired.skipped,
      warnings: desired.warnings,
      counts: countActions([], desired.skipped),
      lock_wait_ms: null
    } satisfies SeedReport
  }
  const lock = yield* SeedLock
  const requestId = yield* (yield* Ids).uuid
  return yield* lock.withLock(reconcile(desired, options, requestId), { timeout: options.lockTimeout }).pipe(
    Effect.catchTag("DryRunRollback", ({ report }) => Effect.succeed(report)),
    Effect.annotateLogs("request_id", requestId)
  )
})

/** The seed over the store and lock services: what Layer-mock tests run. */
export const seedWith = (options: SeedOptions = {}) =>
  Effect.flatMap(deriveTraced, (desired) => seedDesired(desired, options)).pipe(Effect.withSpan("Seed.run"))

/** The desired set, in a span of its own. */
export const deriveTraced = derive.pipe(Effect.withSpan("Seed.derive"))

/** The store and lock on the SQL client. */
export const SeedServices = Layer.merge(ProviderStore.layer, SeedLock.layer)

/** The seed on a SQL client: requires the client and the provider environment (and the Clock). */
export const seed = (
  options: SeedOptions = {}
): Effect.Effect<SeedReport, SeedError, SqlClient.SqlClient | ProviderEnvironment> =>
  seedWith(options).pipe(Effect.provide(SeedServices))

/** Migrates, then seeds a desired set that was derived (and so validated) before any database access. */
export const migrateAndSeedDesired = (
  desired: DesiredSet,
  options: SeedOptions = {}
): Effect.Effect<SeedReport, Exclude<SeedError, InvalidConfiguration | IndexedNameCollision>, SqlClient.SqlClient> =>
  Effect.zipRight(migrate, seedDesired(desired, options).pipe(Effect.provide(SeedServices)))

/** What the server layer runs: validate the environment first, then migrate and seed. */
export const migrateAndSeed = (
  options: SeedOptions = {}
): Effect.Effect<SeedReport, SeedError, SqlClient.SqlClient | ProviderEnvironment> =>
  Effect.flatMap(deriveTraced, (desired) => migrateAndSeedDesired(desired, options)).pipe(
    Effect.withSpan("Seed.migrateAndSeed")
  )
