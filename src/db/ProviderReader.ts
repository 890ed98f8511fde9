/**
 * What a server's runtime reads: the live providers with their keys. It reads in a read-only
 * transaction that first waits on the seed lock (shared, so readers do not wait for each other), so
 * it never sees a half-seeded set.
 */
import { Context, Effect, Layer, type Redacted } from "effect"
import { bedrockFromBlob } from "../core/Canonical.js"
import type { Bedrock, ProviderType } from "../core/DesiredProvider.js"
import type { DatabaseError } from "./DatabaseError.js"
import { ProviderStore, type StoreError } from "./ProviderStore.js"
import { type LockOptions, type LockTimeout, SeedLock } from "./SeedLock.js"

export interface LiveProvider {
  readonly id: string
  readonly name: string
  readonly displayName: string | null
  readonly type: ProviderType
  readonly enabled: boolean
  readonly baseUrl: string
  readonly bedrock: Bedrock | null
  /** Withheld (empty) for a disabled provider. */
  readonly keys: ReadonlyArray<Redacted.Redacted<string>>
}

export class ProviderReader extends Context.Tag("ai-provider-seed/ProviderReader")<ProviderReader, {
  readonly live: (
    options?: Pick<LockOptions, "timeout">
  ) => Effect.Effect<ReadonlyArray<LiveProvider>, StoreError | LockTimeout | DatabaseError>
}>() {
  static readonly layer = Layer.effect(
    ProviderReader,
    Effect.gen(function*() {
      const store = yield* ProviderStore
      const lock = yield* SeedLock
      const read = Effect.gen(function*() {
        const providers = (yield* store.loadProviders).filter((row) => !row.deleted)
        const keys = yield* store.loadKeys(providers.filter((row) => row.enabled).map((row) => row.id))
        return providers.map((row): LiveProvider => ({
          id: row.id,
          name: row.name,
          displayName: row.display_name,
          type: row.type,
          enabled: row.enabled,
          baseUrl: row.base_url,
          bedrock: bedrockFromBlob(row.settings),
          keys: keys.filter((key) => key.provider_id === row.id).map((key) => key.api_key)
        }))
      })
      return {
        live: (options = {}) =>
          lock.withLock(read, { ...options, mode: "shared", readOnly: true }).pipe(
            Effect.withSpan("ProviderReader.live")
          )
      }
    })
  )
}
