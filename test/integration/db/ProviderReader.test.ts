import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Redacted } from "effect"
import { migrate } from "../../../src/db/Migrations.js"
import { ProviderReader } from "../../../src/db/ProviderReader.js"
import { ProviderStore } from "../../../src/db/ProviderStore.js"
import { SeedLock } from "../../../src/db/SeedLock.js"
import * as Rows from "../../support/Rows.js"
import * as TestDatabase from "../../support/TestDatabase.js"

const Reader = ProviderReader.layer.pipe(
  Layer.provideMerge(Layer.merge(ProviderStore.layer, SeedLock.layer)),
  Layer.provideMerge(TestDatabase.layer())
)

layer(Reader, { excludeTestServices: true })("ProviderReader", (it) => {
  it.effect("blocks while a seed transaction holds the lock, then returns the committed set", () =>
    Effect.gen(function*() {
      yield* migrate
      const reader = yield* ProviderReader
      const store = yield* ProviderStore
      const lock = yield* SeedLock
      const sql = yield* SqlClient.SqlClient

      const openai = Rows.provider("openai")
      const disabled = Rows.provider("disabled", { enabled: false })
      const deleted = Rows.provider("deleted")
      const inserted = yield* Deferred.make<void>()
      const commit = yield* Deferred.make<void>()
      const seed = yield* lock.withLock(Effect.gen(function*() {
        yield* store.insertProviders([openai, disabled, deleted])
        yield* store.insertKeys([Rows.key(openai.id, "sk-live-key-0001"), Rows.key(disabled.id, "sk-off-key-0002")])
        yield* sql`update ai_providers set deleted = true where id = ${deleted.id}`
        yield* Deferred.succeed(inserted, undefined)
        yield* Deferred.await(commit)
      })).pipe(Effect.fork)
      yield* Deferred.await(inserted)

      const read = yield* Effect.fork(reader.live({ timeout: "10 seconds" }))
      yield* Effect.sleep("400 millis")
      expect(read.unsafePoll()).toBeNull()

      yield* Deferred.succeed(commit, undefined)
      yield* Fiber.join(seed)
      const providers = yield* Fiber.join(read)
      expect(providers.map((p) => [p.name, p.enabled, p.keys.map(Redacted.value)])).toEqual([
        ["disabled", false, []],
        ["openai", true, ["sk-live-key-0001"]]
      ])
    }))
})
