/**
 * Every database service, for the commands that use several (keys, providers). A module of its own: a bare
 * `seed` builds only `Seeder.Default`, and does not even evaluate the modules of the others.
 */
import { Layer } from "effect"
import { DbcryptKeys } from "../db/DbcryptKeys.js"
import { EncryptedValues } from "../db/EncryptedValues.js"
import { Migrations } from "../db/Migrations.js"
import { ProviderReader } from "../db/ProviderReader.js"
import { ProviderStore } from "../db/ProviderStore.js"
import { SeedLock } from "../db/SeedLock.js"
import { Seeder } from "../seed/Seeder.js"

export const DatabaseServices = Layer.mergeAll(
  Seeder.Default,
  ProviderReader.Default,
  ProviderStore.Default,
  SeedLock.Default,
  Migrations.Default,
  EncryptedValues.Default,
  DbcryptKeys.Default
)
