/**
 * The provider model as rows of `ai_providers` and `ai_provider_keys` (SPEC §4): the one
 * transformation between them, and the new rows a run writes (ids from `Ids`, times from the Clock).
 */
import { Clock, Effect, Either, ParseResult, Redacted, Schema } from "effect"
import { Ids } from "../core/Ids.js"
import {
  bedrockFields,
  BedrockSettings,
  type Provider,
  ProviderType,
  StoredProvider,
  type StoredRow,
  UnreadableProvider
} from "../core/Provider.js"

/** The `settings` blob for Bedrock, exactly as stored: `_type`, `_version`, and the non-empty fields. */
const BedrockBlob = Schema.Struct({
  _type: Schema.Literal("bedrock"),
  _version: Schema.Literal(1),
  ...Object.fromEntries(bedrockFields.map((field) => [field, Schema.optional(Schema.String)])) as {
    readonly [Field in typeof bedrockFields[number]]: Schema.optional<typeof Schema.String>
  }
})

/** The settings column (NULL without Bedrock) <-> the model's Bedrock settings. */
export const SettingsColumn = Schema.NullOr(Schema.transform(BedrockBlob, BedrockSettings, {
  strict: true,
  decode: (blob) =>
    Object.fromEntries(bedrockFields.map((field) => [field, blob[field] ?? ""])) as typeof BedrockSettings.Encoded,
  encode: (settings) => ({
    _type: "bedrock" as const,
    _version: 1 as const,
    ...Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== ""))
  })
}))

/** The settings column for the model's Bedrock settings: secrets revealed, for the statement only. */
export const settingsColumn = Schema.encodeSync(SettingsColumn)

/** An `ai_providers` row joined with its keys, as `ProviderStore.load` selects it. */
export const ProviderRow = Schema.Struct({
  id: Schema.String,
  /** As text, so a value this program's enum does not know still loads (and is reported). */
  type: Schema.String,
  name: Schema.String,
  display_name: Schema.NullOr(Schema.String),
  enabled: Schema.Boolean,
  deleted: Schema.Boolean,
  base_url: Schema.String,
  settings: Schema.Unknown,
  keys: Schema.Array(Schema.String)
})
export type ProviderRow = typeof ProviderRow.Type

const isProviderType = Schema.is(ProviderType)
const decodeSettings = Schema.decodeUnknownEither(SettingsColumn, { errors: "all" })

/** What cannot be read in a settings blob: paths and the markers `_type`/`_version`, never a field value. */
const settingsProblem = (error: ParseResult.ParseError, settings: unknown): string => {
  const paths = Array.from(
    new Set(ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => issue.path.join(".") || "(settings)"))
  )
  const marker = (key: "_type" | "_version") =>
    typeof settings === "object" && settings !== null && key in settings
      ? `${key} ${JSON.stringify((settings as Record<string, unknown>)[key])}`
      : `no ${key}`
  return `its settings cannot be decoded at ${paths.join(", ")} (${marker("_type")}, ${
    marker("_version")
  }; this program reads _type "bedrock", _version 1)`
}

/** A loaded row as the model, or as an unreadable row naming what cannot be read. */
export const toStoredRow = (row: ProviderRow): StoredRow => {
  const unreadable = (reason: string) => new UnreadableProvider({ id: row.id, name: row.name, reason }, true)
  if (!isProviderType(row.type)) {
    return unreadable(
      `its type ${JSON.stringify(row.type)} is unknown to this program (known: ${ProviderType.literals.join(", ")})`
    )
  }
  const type = row.type
  return Either.match(decodeSettings(row.settings), {
    onLeft: (error) => unreadable(settingsProblem(error, row.settings)),
    onRight: (bedrock) =>
      new StoredProvider({
        id: row.id,
        name: row.name,
        type,
        base_url: row.base_url,
        keys: row.keys.map((key) => Redacted.make(key)),
        bedrock,
        display_name: row.display_name,
        enabled: row.enabled,
        deleted: row.deleted
      }, true)
  })
}

/** A provider row to insert. */
export interface NewProviderRow {
  readonly id: string
  readonly provider: Provider
  readonly display_name: string
  readonly enabled: boolean
  readonly created_at: Date
}

/** A key row to insert. */
export interface NewKeyRow {
  readonly id: string
  readonly provider_id: string
  readonly api_key: Redacted.Redacted<string>
  readonly created_at: Date
}

/** A new, enabled provider row (display name = name, SPEC §5), now, with a fresh id. */
export const newProviderRow = Effect.fnUntraced(function*(provider: Provider) {
  return {
    id: yield* (yield* Ids).uuid,
    provider,
    display_name: provider.name,
    enabled: true,
    created_at: new Date(yield* Clock.currentTimeMillis)
  } satisfies NewProviderRow
})

/** New key rows for a provider, now, with fresh ids. */
export const newKeyRows = Effect.fnUntraced(function*(
  providerId: string,
  keys: ReadonlyArray<Redacted.Redacted<string>>
) {
  const ids = yield* Ids
  const now = new Date(yield* Clock.currentTimeMillis)
  const rows: Array<NewKeyRow> = []
  for (const api_key of keys) rows.push({ id: yield* ids.uuid, provider_id: providerId, api_key, created_at: now })
  return rows
})
