/** Running the seed against a test database with a given environment, and reading what it wrote. */
import { SqlClient } from "@effect/sql"
import { expect } from "@effect/vitest"
import { Cause, Effect, Either, Exit, Layer, Logger, Option } from "effect"
import { blank, Encryption } from "../../src/crypto/Encryption.js"
import { migrate } from "../../src/db/Migrations.js"
import { derive } from "../../src/env/DesiredProviders.js"
import { fromVariables } from "../../src/env/IndexedConfigProvider.js"
import { ProviderEnvironment } from "../../src/env/ProviderEnvironment.js"
import { Seeder, type SeedOptions } from "../../src/seed/Seeder.js"
import { encryptionEnvironment } from "./TestEncryption.js"

export type Environment = Readonly<Record<string, string>>

/** Through the program's own ConfigProvider (Effect's `fromMap` is quadratic in the number of variables). */
export const environmentLayer = (env: Environment) =>
  ProviderEnvironment.Default.pipe(Layer.provide(Layer.setConfigProvider(fromVariables(Object.entries(env)))))

/** The seed as the server layer runs it: derive from the environment, then seed on the test database. */
export const seed = (options: SeedOptions = {}) =>
  Effect.flatMap(derive, (desired) => Effect.flatMap(Seeder, (seeder) => seeder.seed(desired, options))).pipe(
    Effect.provide(Seeder.Default)
  )

/** Every log line the seed wrote in this test file, for secret scans. */
export const logLines: Array<string> = []
const capturingLogger = Logger.replace(
  Logger.defaultLogger,
  Logger.make((options) => {
    logLines.push(Logger.logfmtLogger.log(options))
  })
)

/**
 * The values of the variables that hold secrets (bearer keys, Bedrock credentials, encryption keys) and
 * the run's encryption keys: the canaries.
 */
export const secretsOf = (env: Environment): ReadonlyArray<string> =>
  Array.from(
    new Set(
      Object.entries({ ...encryptionEnvironment, ...env })
        .filter(([name]) => /_KEYS?$|_ACCESS_KEY(_SECRET)?$/.test(name))
        .flatMap(([, value]) => value.split(",").map((item) => item.trim()))
        .filter((secret) => secret.length >= 8)
    )
  )

/**
 * Runs the seed, then checks that none of the environment's secrets reached the report, the error,
 * the log lines of this run or `audit_logs`.
 */
export const runSeed = (env: Environment, options: SeedOptions = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const firstLine = logLines.length
    const exit = yield* seed(options).pipe(
      Effect.provide(Layer.merge(environmentLayer(env), capturingLogger)),
      Effect.exit
    )
    const audit = yield* sql<{ diff: string }>`select diff::text as diff from audit_logs`
    const outcome = Exit.match(exit, {
      onFailure: (cause) => Cause.pretty(cause) + JSON.stringify(Cause.failures(cause)),
      onSuccess: (report) => JSON.stringify(report)
    })
    expectNoSecrets([outcome, ...logLines.slice(firstLine), ...audit.map((row) => row.diff)], secretsOf(env))
    return yield* exit
  })

/**
 * Everything the seed can write, as plain rows (secrets included: for assertions only). Values of the
 * encrypted columns are opened with the run's keys (TEST_ENCRYPTION_KEYS), after checking that each is
 * sealed as the run seals it: under the primary key when encryption is on (blank keys excepted), as
 * plaintext with a NULL key id when it is off.
 */
export const snapshot = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const encryption = yield* Encryption
  yield* migrate()
  const open = (value: string, keyId: string | null, provider: string, column: string) => {
    // A stored blank value is plaintext (never encrypted), and ciphertext is never blank.
    expect(keyId, `${column} of ${provider} is not sealed as this run seals values`).toBe(
      blank.test(value) ? null : Option.getOrNull(encryption.primaryDigest)
    )
    return Either.getOrThrow(encryption.decrypt(value, keyId, { provider, column }))
  }
  const providerRows = yield* sql<{
    id: string
    name: string
    type: string
    display_name: string | null
    enabled: boolean
    deleted: boolean
    base_url: string
    settings: string | null
    settings_key_id: string | null
  }>`select id, name, type, display_name, enabled, deleted, base_url, settings, settings_key_id from ai_providers
    order by name`
  const providers = providerRows.map(({ settings, settings_key_id, ...row }) => ({
    ...row,
    settings: settings === null
      ? null
      : JSON.parse(open(settings, settings_key_id, row.name, "ai_providers.settings")) as unknown
  }))
  const keyRows = yield* sql<{ name: string; api_key: string; api_key_key_id: string | null }>`
    select p.name, k.api_key, k.api_key_key_id from ai_provider_keys k join ai_providers p on p.id = k.provider_id`
  const keys = keyRows
    .map((row) => ({
      name: row.name,
      api_key: open(row.api_key, row.api_key_key_id, row.name, "ai_provider_keys.api_key")
    }))
    .sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : a.api_key < b.api_key ? -1 : a.api_key > b.api_key ? 1 : 0
    )
  const audit = yield* sql<{
    action: string
    resource_type: string
    resource_target: string
    user_id: string
    request_id: string
    diff: Record<string, unknown>
  }>`select action, resource_type, resource_target, user_id, request_id, diff from audit_logs
    order by resource_target, resource_type`
  return { providers, keys, audit }
})

export const resetDatabase = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* migrate()
  yield* sql`truncate ai_providers, ai_provider_keys, audit_logs`
})

/** Fails when any of `secrets` appears in plaintext in any of `texts` or in the seed's log lines. */
export const expectNoSecrets = (texts: ReadonlyArray<string>, secrets: ReadonlyArray<string>) => {
  for (const secret of secrets) {
    for (const text of [...texts, ...logLines]) expect(text, "a plaintext secret leaked").not.toContain(secret)
  }
}
