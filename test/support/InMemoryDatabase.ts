/**
 * Layer mocks for the seed's orchestration tests: an in-memory provider store (tables as arrays, read
 * through the production row transformation), no-op migrations, and a seed lock whose "transaction"
 * keeps the store's state on success and restores it on any failure, as PostgreSQL would.
 */
import { type Duration, Effect, Layer, Redacted, Ref } from "effect"
import type { AuditRow } from "../../src/audit/Audit.js"
import type { Insertions } from "../../src/audit/Insertions.js"
import { Encryption, make as makeEncryption } from "../../src/crypto/Encryption.js"
import type { LockHolder } from "../../src/db/AdvisoryLock.js"
import type { DatabaseError } from "../../src/db/DatabaseError.js"
import { latestMigration, Migrations } from "../../src/db/Migrations.js"
import { settingsText, toStoredRow } from "../../src/db/ProviderRows.js"
import { type make as makeStore, ProviderStore } from "../../src/db/ProviderStore.js"
import { type LockPrimitives, make as makeSeedLock, SeedLock } from "../../src/db/SeedLock.js"
import { Seeder } from "../../src/seed/Seeder.js"

/** An `ai_providers` row as the table holds it (`type` and `settings` unchecked, as in PostgreSQL). */
export interface ProviderTableRow {
  readonly id: string
  readonly type: string
  readonly name: string
  readonly display_name: string | null
  readonly enabled: boolean
  readonly deleted: boolean
  readonly base_url: string
  /** The JSON text (plaintext: the mock runs without keys). */
  readonly settings: string | null
  readonly created_at: Date
}

export interface KeyTableRow {
  readonly id: string
  readonly provider_id: string
  readonly api_key: string
}

export interface State {
  readonly providers: ReadonlyArray<ProviderTableRow>
  readonly keys: ReadonlyArray<KeyTableRow>
  readonly audit: ReadonlyArray<AuditRow>
  /** Every store call, in order, for asserting what the seed tried. */
  readonly calls: ReadonlyArray<string>
  readonly transactions: ReadonlyArray<"committed" | "rolled back">
}

export const emptyState: State = { providers: [], keys: [], audit: [], calls: [], transactions: [] }

type StoreMethod = keyof ReturnType<typeof makeStore>

export interface Faults {
  /** Makes one store method fail. */
  readonly failOn?: { readonly method: StoreMethod; readonly error: DatabaseError }
  /** The lock is held elsewhere forever, by these sessions. */
  readonly lockHeldBy?: ReadonlyArray<LockHolder>
  /** The lock is granted after this long. */
  readonly lockGrantedAfter?: Duration.DurationInput
}

/** The mock's schema is current and registers no key. */
const current = { schemaVersion: latestMigration, keyRows: [] }

/** The mock stores plaintext: no keys are configured. */
const encryption = makeEncryption([])

export const make = (initial: Partial<State> = {}, faults: Faults = {}) =>
  Effect.gen(function*() {
    const state = yield* Ref.make<State>({ ...emptyState, ...initial })
    const call = (method: StoreMethod) =>
      Effect.zipRight(
        Ref.update(state, (s) => ({ ...s, calls: [...s.calls, method] })),
        faults.failOn?.method === method ? Effect.fail(faults.failOn.error) : Effect.void
      )
    const update = (f: (s: State) => State) => Ref.update(state, f)
    const insert = (rows: Insertions) =>
      Effect.zipRight(
        call("insert"),
        update((s) => ({
          ...s,
          providers: [
            ...s.providers,
            ...rows.providers.map(({ provider, ...row }) => ({
              ...row,
              type: provider.type,
              name: provider.name,
              base_url: provider.base_url,
              settings: settingsText(provider.bedrock),
              deleted: false
            }))
          ],
          keys: [...s.keys, ...rows.keys.map((key) => ({ ...key, api_key: Redacted.value(key.api_key) }))],
          audit: [...s.audit, ...rows.audit]
        }))
      )
    const load = Effect.zipRight(
      call("load"),
      Effect.map(Ref.get(state), (s) =>
        s.providers.slice().sort((a, b) => a.name < b.name ? -1 : 1).map((row) => {
          const keys = s.keys.filter((key) => key.provider_id === row.id)
          return toStoredRow(encryption)({
            ...row,
            settings_key_id: null,
            keys: keys.map((key) => key.api_key),
            key_ids: keys.map(() => null)
          })
        }))
    )
    const store = ProviderStore.make({
      load,
      loadFrom: () => load,
      insert,
      // One call per batch, as the store sends one statement (or two) per batch.
      insertAll: (batches) => Effect.forEach(batches, (batch) => insert(batch()), { discard: true }),
      insertAudit: (rows) =>
        Effect.zipRight(call("insertAudit"), update((s) => ({ ...s, audit: [...s.audit, ...rows] }))),
      updateConfiguration: (id, provider) =>
        Effect.zipRight(
          call("updateConfiguration"),
          update((s) => ({
            ...s,
            providers: s.providers.map((p) =>
              p.id === id
                ? {
                  ...p,
                  type: provider.type,
                  base_url: provider.base_url,
                  settings: settingsText(provider.bedrock)
                }
                : p
            )
          }))
        ),
      setDeleted: (id, deleted) =>
        Effect.zipRight(
          call("setDeleted"),
          update((s) => ({
            ...s,
            providers: s.providers.map((p) => p.id === id ? { ...p, deleted, enabled: !deleted } : p)
          }))
        ),
      deleteKeys: (provider) =>
        Effect.zipRight(
          call("deleteKeys"),
          Effect.flatMap(Ref.get(state), (s) => {
            const deleted = s.keys.filter((key) => key.provider_id === provider.id)
            return Effect.as(
              update((s) => ({ ...s, keys: s.keys.filter((key) => key.provider_id !== provider.id) })),
              deleted.map((key) => ({ id: key.id, api_key: Redacted.make(key.api_key) }))
            )
          })
        )
    })
    const primitives: LockPrimitives = {
      transaction: (body) =>
        Effect.gen(function*() {
          const before = yield* Ref.get(state)
          return yield* body.pipe(
            Effect.tap(() =>
              Ref.update(state, (s) => ({ ...s, transactions: [...s.transactions, "committed" as const] }))
            ),
            Effect.onError(() =>
              Ref.update(state, (s) => ({
                ...before,
                calls: s.calls,
                transactions: [...s.transactions, "rolled back" as const]
              }))
            )
          )
        }),
      // The store's own `loadFrom` reads the state: the read sent with the probe has no value of its own here.
      acquire: () =>
        (faults.lockHeldBy !== undefined
          ? Effect.never
          : faults.lockGrantedAfter !== undefined
          ? Effect.sleep(faults.lockGrantedAfter)
          : Effect.void).pipe(Effect.as(Effect.succeed({ probe: current, read: undefined }))),
      registerKey: () => Effect.void,
      holders: Effect.succeed(faults.lockHeldBy ?? [])
    }
    const migrations = Migrations.make({ migrate: () => Effect.succeed([]) })
    const services = Layer.mergeAll(
      Layer.succeed(ProviderStore, store),
      Layer.succeed(SeedLock, SeedLock.make(makeSeedLock(primitives, { migrate: migrations.migrate, encryption }))),
      Layer.succeed(Migrations, migrations),
      Layer.succeed(Encryption, encryption)
    )
    return {
      state,
      /** The seeder and the services it runs over, all in memory. */
      layer: Seeder.DefaultWithoutDependencies.pipe(Layer.provideMerge(services))
    }
  })
