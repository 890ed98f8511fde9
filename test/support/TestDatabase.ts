/**
 * A fresh, empty database for one test file (or one test), on the run's server, dropped afterwards.
 * Provides the pool (`PgClient`, `SqlClient`), `TestDatabase` with the URL, for second sessions
 * and child processes, and the run's `Encryption`: the keys in TEST_ENCRYPTION_KEYS (CI runs the suite
 * once with keys, once without), else plaintext.
 */
import { ConfigProvider, Context, Effect, Layer, Redacted } from "effect"
import { inject } from "vitest"
import { Encryption } from "../../src/crypto/Encryption.js"
import { encryptionKeysVariable } from "../../src/crypto/EncryptionKeys.js"
import { pool, type PoolOptions } from "../../src/db/Database.js"
import { scratchDatabase } from "../../support/ScratchDatabase.js"

export class TestDatabase extends Context.Tag("test/TestDatabase")<TestDatabase, {
  readonly url: Redacted.Redacted<string>
  readonly name: string
}>() {}

export const adminUrl = () => Redacted.make(inject("adminDatabaseUrl"))

/** The encryption keys of this run ("" for none), as the program reads them from its environment. */
export const encryptionKeys = process.env["TEST_ENCRYPTION_KEYS"] ?? ""

/** The environment variable that gives the program under test this run's keys (none when unset). */
export const encryptionEnvironment: Readonly<Record<string, string>> = encryptionKeys === ""
  ? {}
  : { [encryptionKeysVariable]: encryptionKeys }

export const encryptionLayer = Encryption.layer.pipe(
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(encryptionEnvironment))))),
  Layer.orDie
)

export const layer = (options: PoolOptions = {}) =>
  Layer.unwrapScoped(
    Effect.map(
      Effect.suspend(() => scratchDatabase(adminUrl(), "seed_test")),
      (database) => Layer.mergeAll(Layer.succeed(TestDatabase, database), pool(database.url, options), encryptionLayer)
    )
  )
