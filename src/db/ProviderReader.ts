/**
 * What a server's runtime reads: the live providers with their keys. It reads in a read-only
 * transaction that first waits on the seed lock (shared, so readers do not wait for each other), so
 * it never sees a half-seeded set.
 */
import { Effect } from "effect"
import { StoredProvider, UnreadableProvider } from "../core/Provider.js"
import { providersRead, ProviderStore } from "./ProviderStore.js"
import { type LockOptions, SeedLock } from "./SeedLock.js"

export class ProviderReader extends Effect.Service<ProviderReader>()("ai-provider-seed/ProviderReader", {
  effect: Effect.gen(function*() {
    const store = yield* ProviderStore
    const lock = yield* SeedLock
    const liveOf = (providers: unknown) =>
      Effect.gen(function*() {
        const live: Array<StoredProvider> = []
        for (const row of yield* store.loadFrom(providers)) {
          if (row instanceof UnreadableProvider) {
            yield* Effect.logWarning(`stored AI provider "${row.name}" skipped: ${row.reason}`)
          } else if (!row.deleted) {
            // Keys are withheld for a disabled provider.
            live.push(row.enabled ? row : new StoredProvider({ ...row, keys: [] }, true))
          }
        }
        return live
      })
    const shared = (options: Pick<LockOptions, "timeout">) => ({ ...options, mode: "shared", readOnly: true }) as const
    return {
      /** The live (not soft-deleted) providers, in name order; disabled ones without keys. */
      live: (options: Pick<LockOptions, "timeout"> = {}) =>
        lock.withLockReading(providersRead, liveOf, shared(options)).pipe(Effect.withSpan("ProviderReader.live")),
      /** Every stored row, soft-deleted, disabled and unreadable ones included, in name order. */
      all: (options: Pick<LockOptions, "timeout"> = {}) =>
        lock.withLockReading(providersRead, store.loadFrom, shared(options)).pipe(
          Effect.withSpan("ProviderReader.all")
        )
    }
  }),
  dependencies: [ProviderStore.Default, SeedLock.Default]
}) {}
