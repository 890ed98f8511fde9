/**
 * The seed for Effect servers: a Layer that migrates and seeds while it is built. Anything that
 * depends on `Seeded` starts only after a successful seed, and never after a failed one.
 */
import { Context, Effect, Layer } from "effect"
import { Encryption } from "../crypto/Encryption.js"
import { ProviderReader } from "../db/ProviderReader.js"
import { derive } from "../env/DesiredProviders.js"
import { ProviderEnvironment } from "../env/ProviderEnvironment.js"
import { Seeder, type SeedOptions } from "./Seeder.js"
import type { SeedReport } from "./SeedReport.js"

/** The report of the seed that ran when the layer was built. */
export class Seeded extends Context.Tag("ai-provider-seed/Seeded")<Seeded, SeedReport>() {}

/**
 * The server's composition of the seed: `Seeded` (the environment validated, then migrated and seeded)
 * and the runtime `ProviderReader`. Requires the SQL client; reads the providers and the encryption keys
 * (`CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS`) from the current ConfigProvider.
 */
export const layer = (options: SeedOptions = {}) =>
  Layer.effect(
    Seeded,
    Effect.flatMap(derive, (desired) => Effect.flatMap(Seeder, (seeder) => seeder.seed(desired, options)))
  ).pipe(
    Layer.merge(ProviderReader.Default),
    Layer.provide(Seeder.Default),
    Layer.provide(Layer.merge(ProviderEnvironment.Default, Encryption.layer))
  )
