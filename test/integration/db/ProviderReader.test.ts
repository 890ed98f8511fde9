import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Redacted, Schedule } from "effect"
import { migrate } from "../../../src/db/Migrations.js"
import { ProviderReader } from "../../../src/db/ProviderReader.js"
import { ProviderStore } from "../../../src/db/ProviderStore.js"
import { SeedLock } from "../../../src/db/SeedLock.js"
import * as Rows from "../../support/Rows.js"
import * as TestDatabase from "../../support/TestDatabase.js"

const Reader = Layer.mergeAll(ProviderReader.Default, ProviderStore.Default, SeedLock.Default).pipe(
  Layer.provideMerge(TestDatabase.layer())
)

/** Waits until a session asks for the seed lock and is not granted it: the state the test needs. */
const awaitWaiterOnSeedLock = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ waiting: number }>`
    select count(*)::int as waiting from pg_locks l join pg_database d on d.oid = l.database
    where l.locktype = 'advisory' and l.objid = 10 and not l.granted and d.datname = current_database()`.pipe(
    Effect.filterOrFail((rows) => (rows[0]?.waiting ?? 0) > 0),
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("20 seconds")))
  ))

layer(Reader, { excludeTestServices: true })("ProviderReader", (it) => {
  it.effect("blocks while a seed transaction holds the lock, then returns the committed set", () =>
    Effect.gen(function*() {
      yield* migrate()
      const reader = yield* ProviderReader
      const store = yield* ProviderStore
      const lock = yield* SeedLock
      const sql = yield* SqlClient.SqlClient

      const openai = Rows.provider("openai")
      const disabled = Rows.provider("disabled", {}, { enabled: false })
      const deleted = Rows.provider("deleted")
      const inserted = yield* Deferred.make<void>()
      const commit = yield* Deferred.make<void>()
      const seed = yield* lock.withLock(Effect.gen(function*() {
        yield* store.insert({
          providers: [openai, disabled, deleted],
          keys: [Rows.key(openai.id, "sk-live-key-0001"), Rows.key(disabled.id, "sk-off-key-0002")],
          audit: []
        })
        yield* sql`update ai_providers set deleted = true where id = ${deleted.id}`
        yield* Deferred.succeed(inserted, undefined)
        yield* Deferred.await(commit)
      })).pipe(Effect.fork)
      yield* Deferred.await(inserted)

      const read = yield* Effect.fork(reader.live({ timeout: "30 seconds" }))
      yield* awaitWaiterOnSeedLock
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
