/**
 * A fresh, empty database for one test file (or one test), on the run's server, dropped afterwards.
 * Provides the pool (`PgClient`, `SqlClient`), `TestDatabase` with the URL, for second sessions
 * and child processes, and the run's `Encryption` (see TestEncryption.ts).
 */
import { Context, Effect, Layer, Redacted } from "effect"
import { inject } from "vitest"
import { pool, type PoolOptions } from "../../src/db/Database.js"
import { scratchDatabase } from "../../support/ScratchDatabase.js"
import { encryptionLayer } from "./TestEncryption.js"

export class TestDatabase extends Context.Tag("test/TestDatabase")<TestDatabase, {
  readonly url: Redacted.Redacted<string>
  readonly name: string
}>() {}

/** The test database's URL as text, for a child process's environment or arguments. */
export const urlText = Effect.map(TestDatabase, ({ url }) => Redacted.value(url))

export const adminUrl = () => Redacted.make(inject("adminDatabaseUrl"))

export const layer = (options: PoolOptions = {}) =>
  Layer.unwrapScoped(
    Effect.map(
      Effect.suspend(() => scratchDatabase(adminUrl(), "seed_test")),
      (database) => Layer.mergeAll(Layer.succeed(TestDatabase, database), pool(database.url, options), encryptionLayer)
    )
  )
