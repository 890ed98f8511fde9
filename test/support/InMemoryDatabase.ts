/**
 * Layer mocks for the seed's orchestration tests: an in-memory provider store and a seed lock whose
 * "transaction" keeps the store's state on success and restores it on any failure, as PostgreSQL would.
 */
import { type Duration, Effect, Layer, Ref } from "effect"
import type { AuditRow, NewKeyRow, StoredKeyRow, StoredProviderRow } from "../../src/db/ProviderRows.js"
import { ProviderStore, type StoreError } from "../../src/db/ProviderStore.js"
import { type LockHolder, type LockPrimitives, make as makeSeedLock, SeedLock } from "../../src/db/SeedLock.js"

export interface State {
  readonly providers: ReadonlyArray<StoredProviderRow>
  readonly keys: ReadonlyArray<StoredKeyRow>
  readonly audit: ReadonlyArray<AuditRow>
  /** Every store call, in order, for asserting what the seed tried. */
  readonly calls: ReadonlyArray<string>
  readonly transactions: ReadonlyArray<"committed" | "rolled back">
}

export const emptyState: State = { providers: [], keys: [], audit: [], calls: [], transactions: [] }

export interface Faults {
  /** Makes one store method fail. */
  readonly failOn?: { readonly method: keyof typeof ProviderStore.Service; readonly error: StoreError }
  /** The lock is held elsewhere forever, by these sessions. */
  readonly lockHeldBy?: ReadonlyArray<LockHolder>
  /** The lock is granted after this long. */
  readonly lockGrantedAfter?: Duration.DurationInput
}

const storedKey = (row: NewKeyRow): StoredKeyRow => ({ id: row.id, provider_id: row.provider_id, api_key: row.api_key })

export const make = (initial: Partial<State> = {}, faults: Faults = {}) =>
  Effect.gen(function*() {
    const state = yield* Ref.make<State>({ ...emptyState, ...initial })
    // Like the SQL store, an empty batch sends no statement and is not recorded.
    const call = (method: keyof typeof ProviderStore.Service, rows: ReadonlyArray<unknown> = [method]) =>
      Effect.zipRight(
        Ref.update(state, (s) => (rows.length === 0 ? s : { ...s, calls: [...s.calls, method] })),
        faults.failOn?.method === method ? Effect.fail(faults.failOn.error) : Effect.void
      )
    const store: typeof ProviderStore.Service = {
      loadProviders: Effect.zipRight(call("loadProviders"), Effect.map(Ref.get(state), (s) => s.providers)),
      loadKeys: (ids) =>
        Effect.zipRight(
          call("loadKeys"),
          Effect.map(Ref.get(state), (s) => s.keys.filter((key) => ids.includes(key.provider_id)))
        ),
      insertProviders: (rows) =>
        Effect.zipRight(
          call("insertProviders", rows),
          Ref.update(state, (s) => ({
            ...s,
            providers: [...s.providers, ...rows.map((row) => ({ ...row, deleted: false }))]
          }))
        ),
      insertKeys: (rows) =>
        Effect.zipRight(
          call("insertKeys", rows),
          Ref.update(state, (s) => ({ ...s, keys: [...s.keys, ...rows.map(storedKey)] }))
        ),
      insertAuditRows: (rows) =>
        Effect.zipRight(
          call("insertAuditRows", rows),
          Ref.update(state, (s) => ({ ...s, audit: [...s.audit, ...rows] }))
        ),
      updateConfiguration: (row) =>
        Effect.zipRight(
          call("updateConfiguration"),
          Ref.update(
            state,
            (s) => ({ ...s, providers: s.providers.map((p) => p.id === row.id ? { ...p, ...row } : p) })
          )
        ),
      setDeleted: (id, deleted, at) =>
        Effect.zipRight(
          call("setDeleted"),
          Ref.update(state, (s) => ({
            ...s,
            providers: s.providers.map((p) => p.id === id ? { ...p, deleted, enabled: !deleted, updated_at: at } : p)
          }))
        ),
      deleteKeys: (providerId) =>
        Effect.zipRight(
          call("deleteKeys"),
          Ref.update(state, (s) => ({ ...s, keys: s.keys.filter((key) => key.provider_id !== providerId) }))
        )
    }
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
      begin: () => Effect.void,
      acquire: () =>
        faults.lockHeldBy !== undefined
          ? Effect.never
          : faults.lockGrantedAfter !== undefined
          ? Effect.sleep(faults.lockGrantedAfter)
          : Effect.void,
      holders: Effect.succeed(faults.lockHeldBy ?? [])
    }
    return {
      state,
      layer: Layer.merge(
        Layer.succeed(ProviderStore, store),
        Layer.succeed(SeedLock, makeSeedLock(primitives))
      )
    }
  })
