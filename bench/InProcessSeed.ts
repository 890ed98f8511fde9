/**
 * The seed in-process, as a server that imports the library runs it: from the compiled library
 * (`dist/`, tsc's output, what `import "ai-provider-seed"` loads), not from the sources through tsx,
 * whose transform adds its own cost to every function. bench/run.ts builds `dist/` before it imports
 * this module.
 */
import { Statement } from "@effect/sql"
import { Effect, Layer, Logger, Ref } from "effect"
import { randomBytes } from "node:crypto"
import { KeyBytes, makeCipher } from "../dist/crypto/Cipher.js"
import { Encryption, make as makeEncryption } from "../dist/crypto/Encryption.js"
import { derive } from "../dist/env/DesiredProviders.js"
import { fromVariables } from "../dist/env/IndexedConfigProvider.js"
import { ProviderEnvironment } from "../dist/env/ProviderEnvironment.js"
import { Seeder } from "../dist/seed/Seeder.js"

export type Environment = Record<string, string>

const environmentLayer = (env: Environment) =>
  ProviderEnvironment.Default.pipe(Layer.provide(Layer.setConfigProvider(fromVariables(Object.entries(env)))))

/** The seed's log lines are formatted as the program formats them (logfmt), then dropped. */
const quietLogger = Logger.replace(Logger.defaultLogger, Logger.map(Logger.logfmtLogger, () => undefined))

/** A fresh AES-256 key for the encrypted rows: the seed then seals every key it writes. */
export const withBenchKey = Layer.succeed(Encryption, makeEncryption([makeCipher(KeyBytes(randomBytes(32)))]))

/** One seed of `env`, as the program runs it (migrations are current); returns its statements. */
export const seedOnce = (env: Environment, encryption: Layer.Layer<Encryption> = Encryption.plaintext) =>
  Effect.gen(function*() {
    const count = yield* Ref.make(0)
    yield* Effect.flatMap(derive, (desired) => Effect.flatMap(Seeder, (seeder) => seeder.seed(desired))).pipe(
      Effect.provide(Layer.merge(environmentLayer(env), Seeder.Default.pipe(Layer.provide(encryption)))),
      Statement.withTransformer((statement) => Effect.as(Ref.update(count, (n) => n + 1), statement))
    )
    return yield* Ref.get(count)
  }).pipe(Effect.provide(quietLogger))
