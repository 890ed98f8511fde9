import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Redacted } from "effect"
import { adopt, type AdoptResult } from "../admin/Adopt.js"
import { restore, softDelete, type SoftDeleteResult } from "../admin/SoftDelete.js"
import { HashConflict } from "../core/Errors.js"
import { describeDifference } from "../core/FieldDifference.js"
import { mask } from "../core/Mask.js"
import { ProviderEnvironment } from "../core/ProviderEnvironment.js"
import { maskUrl } from "../core/UrlMask.js"
import { migrate } from "../db/Migrations.js"
import type { StoredKeyRow, StoredProviderRow } from "../db/ProviderRows.js"
import { ProviderStore } from "../db/ProviderStore.js"
import { SeedLock } from "../db/SeedLock.js"
import { format } from "./CommonOptions.js"
import { databaseCommandOptions, withDatabase } from "./DatabaseOptions.js"

const json = (value: unknown) => JSON.stringify(value, null, 2)

const listed = (row: StoredProviderRow, keys: ReadonlyArray<StoredKeyRow>) => ({
  name: row.name,
  type: row.type,
  state: row.deleted ? "deleted" : row.enabled ? "enabled" : "disabled",
  base_url: maskUrl(row.base_url),
  keys: keys.filter((key) => key.provider_id === row.id).map((key) => mask(Redacted.value(key.api_key))),
  bedrock: row.settings === null ? null : {
    ...row.settings,
    ...(row.settings.base_url === undefined ? {} : { base_url: maskUrl(row.settings.base_url) }),
    access_key: mask(row.settings.access_key ?? ""),
    access_key_secret: mask(row.settings.access_key_secret ?? "")
  }
})

/** Every stored provider, deleted and disabled ones included. */
const stored = Effect.gen(function*() {
  const store = yield* ProviderStore
  const rows = yield* store.loadProviders
  const keys = yield* store.loadKeys(rows.map((row) => row.id))
  return rows.map((row) => listed(row, keys))
})

const listText = (rows: ReadonlyArray<ReturnType<typeof listed>>) =>
  rows.length === 0 ?
    "No AI providers are stored." :
    rows.map((row) =>
      `${row.name} (${row.type}, ${row.state}) ${row.base_url || "(no base URL)"}; keys: ${
        row.keys.length === 0 ? "none" : row.keys.join(", ")
      }${
        row.bedrock === null
          ? ""
          : `; bedrock region ${row.bedrock.region ?? "(none)"}, access key ${row.bedrock.access_key}`
      }`
    ).join("\n")

const listCommand = Command.make("list", { format, ...databaseCommandOptions }, (options) =>
  migrate.pipe(
    Effect.zipRight(Effect.flatMap(SeedLock, (lock) =>
      lock.withLock(stored, { mode: "shared", readOnly: true, timeout: options.lockTimeout }))),
    Effect.flatMap((rows) =>
      Console.log(options.format === "json" ? json({ providers: rows }) : listText(rows))
    ),
    withDatabase(options)
  )).pipe(Command.withDescription("List the stored AI providers, deleted and disabled ones included, keys masked"))

const name = Args.text({ name: "NAME" }).pipe(Args.withDescription("The provider's name"))

const adoptText = (result: AdoptResult) =>
  [
    `AI provider "${result.provider}" differs from the environment:`,
    ...result.differences.map((difference) => `  ${describeDifference(difference)}`),
    ...(result.keys === null ? [] : [
      `  keys (stored ${result.keys.stored.join(", ") || "none"}; environment ${
        result.keys.desired.join(", ") || "none"
      })`
    ]),
    result.applied
      ? `Adopted: the stored provider now matches the environment (audited, request ${result.request_id}).`
      : `Nothing written. Run again with --yes to rewrite the stored provider from the environment.`
  ].join("\n")

const adoptCommand = Command.make("adopt", {
  name,
  yes: Options.boolean("yes").pipe(Options.withDescription("Rewrite the stored provider (otherwise only show)")),
  replaceKeys: Options.boolean("replace-keys").pipe(
    Options.withDescription("Also replace the stored keys with the environment's")
  ),
  format,
  ...databaseCommandOptions
}, (options) =>
  migrate.pipe(
    Effect.zipRight(adopt(options.name, {
      apply: options.yes,
      replaceKeys: options.replaceKeys,
      timeout: options.lockTimeout
    })),
    Effect.tap((result) => Console.log(options.format === "json" ? json(result) : adoptText(result))),
    // Shown but not adopted: the conflict is still there (exit 3).
    Effect.flatMap((result) =>
      result.applied ? Effect.void : Effect.fail(
        new HashConflict({
          provider: result.provider,
          differences: result.differences
        })
      )
    ),
    Effect.provide(ProviderEnvironment.layer),
    withDatabase(options)
  )).pipe(Command.withDescription(
    "Resolve a HashConflict from the database side: show how a stored provider differs from the environment, and with --yes rewrite its type, base URL and settings from the environment (audited; keys kept unless --replace-keys)"
  ))

const softDeleteText = (result: SoftDeleteResult) =>
  result.deleted
    ? `Deleted AI provider "${result.provider}" (soft delete: the name stays reserved and the seed will not recreate it).`
    : `Restored AI provider "${result.provider}": live and enabled again.`

const softDeleteCommand = (command: "delete" | "restore", description: string) =>
  Command.make(command, { name, format, ...databaseCommandOptions }, (options) =>
    migrate.pipe(
      Effect.zipRight((command === "delete" ? softDelete : restore)(options.name, { timeout: options.lockTimeout })),
      Effect.flatMap((result) => Console.log(options.format === "json" ? json(result) : softDeleteText(result))),
      withDatabase(options)
    )).pipe(Command.withDescription(description))

export const providersCommand = Command.make("providers").pipe(
  Command.withDescription("Inspect and manage the providers stored in the database"),
  Command.withSubcommands([
    listCommand,
    adoptCommand,
    softDeleteCommand(
      "delete",
      "Soft-delete a stored provider (deleted, disabled, name reserved; the seed never recreates it); audited"
    ),
    softDeleteCommand("restore", "Undo a soft delete: the provider is live and enabled again; audited")
  ])
)
