import { Command } from "@effect/cli"
import { Console, Effect, Redacted } from "effect"
import { mask } from "../core/Mask.js"
import { migrate } from "../db/Migrations.js"
import type { StoredKeyRow, StoredProviderRow } from "../db/ProviderRows.js"
import { ProviderStore } from "../db/ProviderStore.js"
import { SeedLock } from "../db/SeedLock.js"
import { SeedServices } from "../seed/Seed.js"
import { envFile, format } from "./ConfigCommand.js"
import { databaseLayer, databaseUrl, lockTimeout } from "./DatabaseOptions.js"
import { withEnvFile } from "./EnvFile.js"
import { logFormat, loggerLayer } from "./Logging.js"

const listed = (row: StoredProviderRow, keys: ReadonlyArray<StoredKeyRow>) => ({
  name: row.name,
  type: row.type,
  state: row.deleted ? "deleted" : row.enabled ? "enabled" : "disabled",
  base_url: row.base_url,
  keys: keys.filter((key) => key.provider_id === row.id).map((key) => mask(Redacted.value(key.api_key))),
  bedrock: row.settings === null ? null : {
    ...row.settings,
    access_key: mask(row.settings.access_key ?? ""),
    access_key_secret: mask(row.settings.access_key_secret ?? "")
  }
})

/** Every stored provider, deleted and disabled ones included, read under the seed lock. */
const providers = Effect.gen(function*() {
  const store = yield* ProviderStore
  const rows = yield* store.loadProviders
  const keys = yield* store.loadKeys(rows.map((row) => row.id))
  return rows.map((row) => listed(row, keys))
})

const text = (rows: ReadonlyArray<ReturnType<typeof listed>>) =>
  rows.length === 0 ?
    "No AI providers are stored." :
    rows.map((row) =>
      `${row.name} (${row.type}, ${row.state}) ${row.base_url || "(default base URL)"}; keys: ${
        row.keys.length === 0 ? "none" : row.keys.join(", ")
      }${
        row.bedrock === null
          ? ""
          : `; bedrock region ${row.bedrock.region ?? "(none)"}, access key ${row.bedrock.access_key}`
      }`
    ).join("\n")

const listCommand = Command.make(
  "list",
  { format, lockTimeout, databaseUrl, envFile, logFormat },
  (options) =>
    migrate.pipe(
      Effect.zipRight(Effect.flatMap(SeedLock, (lock) =>
        lock.withLock(providers, { mode: "shared", readOnly: true, timeout: options.lockTimeout }))),
      Effect.flatMap((rows) =>
        Console.log(options.format === "json" ? JSON.stringify({ providers: rows }, null, 2) : text(rows))
      ),
      Effect.provide(SeedServices),
      Effect.provide(databaseLayer(options.databaseUrl)),
      withEnvFile(options.envFile),
      Effect.provide(loggerLayer(options.logFormat))
    )
).pipe(Command.withDescription("List the stored AI providers, deleted and disabled ones included, keys masked"))

export const providersCommand = Command.make("providers").pipe(
  Command.withDescription("Inspect the providers stored in the database"),
  Command.withSubcommands([listCommand])
)
