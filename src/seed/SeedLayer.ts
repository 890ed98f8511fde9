/**
 * The seed for Effect servers: a Layer that migrates and seeds while it is built. Anything that
 * depends on `Seeded` starts only after a successful seed, and never after a failed one.
 */
import { Context, Layer } from "effect"
import { ProviderEnvironment } from "../core/ProviderEnvironment.js"
import { ProviderReader } from "../db/ProviderReader.js"
import { migrateAndSeed, type SeedOptions, SeedServices } from "./Seed.js"
import type { SeedReport } from "./SeedReport.js"

/** The report of the seed that ran when the layer was built. */
export class Seeded extends Context.Tag("ai-provider-seed/Seeded")<Seeded, SeedReport>() {}

/** Requires the SQL client; reads the providers from the current ConfigProvider. */
export const layer = (options: SeedOptions = {}) =>
  Layer.effect(Seeded, migrateAndSeed(options)).pipe(Layer.provide(ProviderEnvironment.layer))

/** The runtime reader, for servers that depend on a finished seed. */
export const readerLayer = ProviderReader.layer.pipe(Layer.provide(SeedServices))
