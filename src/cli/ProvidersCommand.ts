import { Args, Command, Options } from "@effect/cli"
import type { Duration, Option, Redacted } from "effect"
import { Effect, Schema } from "effect"
import { adopt, AdoptResult, configured } from "../admin/Adopt.js"
import { restore, softDelete, SoftDeleteResult } from "../admin/SoftDelete.js"
import { HashConflict } from "../core/Errors.js"
import { describeDifference } from "../core/FieldDifference.js"
import { maskedFields, maskProvider } from "../core/MaskedProvider.js"
import { type StoredRow, UnreadableProvider } from "../core/Provider.js"
import { ProviderReader } from "../db/ProviderReader.js"
import { withDatabase } from "./CommandContext.js"
import { databaseOptions, format } from "./CommonOptions.js"
import { DatabaseServices } from "./DatabaseServices.js"
import { type Format, print } from "./Output.js"
import { withCommandContext } from "./WithCommandContext.js"

/** What every providers subcommand does: run the operation on the selected database, print its result. */
const runAndPrint = <A, I, E, R>(
  options: {
    readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
    readonly lockTimeout: Duration.Duration
    readonly format: Format
  },
  operation: Effect.Effect<A, E, R>,
  schema: Schema.Schema<A, I>,
  text: (result: A) => string
) => operation.pipe(Effect.tap(print(schema, options.format, text)), withDatabase(options, DatabaseServices))

const ListedProvider = Schema.Union(
  Schema.Struct({ ...maskedFields, state: Schema.Literal("enabled", "disabled", "deleted") }),
  Schema.Struct({ name: Schema.String, state: Schema.Literal("unreadable"), reason: Schema.String })
)
type ListedProvider = typeof ListedProvider.Type

export class ProviderList extends Schema.Class<ProviderList>("ProviderList")({
  providers: Schema.Array(ListedProvider)
}) {}

const listed = (row: StoredRow): ListedProvider =>
  row instanceof UnreadableProvider
    ? { name: row.name, state: "unreadable", reason: row.reason }
    : { ...maskProvider(row), state: row.state }

const listText = ({ providers }: ProviderList) =>
  providers.length === 0 ?
    "No AI providers are stored." :
    providers.map((row) =>
      row.state === "unreadable"
        ? `${row.name} (unreadable: ${row.reason})`
        : `${row.name} (${row.type}, ${row.state}) ${row.base_url || "(no base URL)"}; keys: ${
          row.keys.length === 0 ? "none" : row.keys.join(", ")
        }${
          row.bedrock === null
            ? ""
            : `; bedrock region ${row.bedrock.region || "(none)"}, access key ${row.bedrock.access_key}`
        }`
    ).join("\n")

const listCommand = Command.make("list", { format, ...databaseOptions }, (options) =>
  runAndPrint(
    options,
    Effect.flatMap(ProviderReader, (reader) => reader.all({ timeout: options.lockTimeout })).pipe(
      Effect.map((rows) => new ProviderList({ providers: rows.map(listed) }, true))
    ),
    ProviderList,
    listText
  )).pipe(
    withCommandContext,
    Command.withDescription("List the stored AI providers, deleted, disabled and unreadable ones included, keys masked")
  )

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
    ...(result.dropped_settings.length === 0 ? [] : [
      `  stored settings fields this program does not know, which adopting drops (audited by name): ${
        result.dropped_settings.join(", ")
      }`
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
  ...databaseOptions
}, (options) =>
  configured(options.name).pipe(
    Effect.flatMap((desired) =>
      runAndPrint(
        options,
        adopt(desired, { apply: options.yes, replaceKeys: options.replaceKeys, timeout: options.lockTimeout }),
        AdoptResult,
        adoptText
      )
    ),
    // Shown but not adopted: the conflict is still there (exit 3).
    Effect.flatMap((result) =>
      result.applied ? Effect.void : HashConflict.of([{ provider: result.provider, differences: result.differences }])
    )
  )).pipe(
    withCommandContext,
    Command.withDescription(
      "Resolve a HashConflict from the database side: show how a stored provider differs from the environment, and with --yes rewrite its type, base URL and settings from the environment (audited; keys kept unless --replace-keys)"
    )
  )

const softDeleteText = (result: SoftDeleteResult) =>
  result.deleted
    ? `Deleted AI provider "${result.provider}" (soft delete: the name stays reserved and the seed will not recreate it).`
    : `Restored AI provider "${result.provider}": live and enabled again.`

const softDeleteCommand = (command: "delete" | "restore", description: string) =>
  Command.make(command, { name, format, ...databaseOptions }, (options) =>
    runAndPrint(
      options,
      (command === "delete" ? softDelete : restore)(options.name, { timeout: options.lockTimeout }),
      SoftDeleteResult,
      softDeleteText
    )).pipe(withCommandContext, Command.withDescription(description))

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
