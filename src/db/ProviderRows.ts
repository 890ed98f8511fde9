/**
 * The provider model as rows of `ai_providers` and `ai_provider_keys` (SPEC §4): the one
 * transformation between them, and the new rows a run writes (ids and time from a `Stamp`).
 */
import { Either, ParseResult, Redacted, Schema } from "effect"
import type { Stamp } from "../core/Ids.js"
import {
  bedrockFields,
  BedrockSettings,
  isProviderType,
  type Provider,
  ProviderType,
  StoredProvider,
  type StoredRow,
  UnreadableProvider
} from "../core/Provider.js"
import { DecryptionFailed, type Encryption } from "../crypto/Encryption.js"

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

/** The settings column's text for the model's Bedrock settings: the JSON, secrets revealed, or null. */
export const settingsText = (bedrock: BedrockSettings | null): string | null => {
  const blob = settingsColumn(bedrock)
  return blob === null ? null : JSON.stringify(blob)
}

/** An `ai_providers` row joined with its keys, as `ProviderStore.load` selects it (values still sealed). */
export const ProviderRow = Schema.Struct({
  id: Schema.String,
  /** As text, so a value this program's enum does not know still loads (and is reported). */
  type: Schema.String,
  name: Schema.String,
  display_name: Schema.NullOr(Schema.String),
  enabled: Schema.Boolean,
  deleted: Schema.Boolean,
  base_url: Schema.String,
  settings: Schema.NullOr(Schema.String),
  settings_key_id: Schema.NullOr(Schema.String),
  keys: Schema.Array(Schema.String),
  key_ids: Schema.Array(Schema.NullOr(Schema.String))
})
export type ProviderRow = typeof ProviderRow.Type

const decodeSettings = Schema.decodeUnknownEither(SettingsColumn, { errors: "all" })
const parseJson = (text: string): Either.Either<unknown, "not JSON"> =>
  Either.try({ try: (): unknown => JSON.parse(text), catch: () => "not JSON" as const })

const knownSettingsFields: ReadonlySet<string> = new Set(["_type", "_version", ...bedrockFields])

/** The names of a settings blob's fields this program does not know (a newer writer's, or another program's). */
const unknownFields = (settings: unknown): ReadonlyArray<string> =>
  typeof settings === "object" && settings !== null
    ? Object.keys(settings).filter((field) => !knownSettingsFields.has(field)).sort()
    : []

/**
 * Where a decoded value failed, as paths (`0.keys.1`), never the value: a parse error's own message quotes
 * it, and a stored row may hold a key. `root` names the value itself.
 */
export const failingPaths = (error: ParseResult.ParseError, root: string): ReadonlyArray<string> =>
  Array.from(new Set(ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => issue.path.join(".") || root)))

/** What cannot be read in a settings blob: paths and the markers `_type`/`_version`, never a field value. */
const settingsProblem = (error: ParseResult.ParseError, settings: unknown): string => {
  const paths = failingPaths(error, "(settings)")
  const marker = (key: "_type" | "_version") =>
    typeof settings === "object" && settings !== null && key in settings
      ? `${key} ${JSON.stringify((settings as Record<string, unknown>)[key])}`
      : `no ${key}`
  return `its settings cannot be decoded at ${paths.join(", ")} (${marker("_type")}, ${
    marker("_version")
  }; this program reads _type "bedrock", _version 1)`
}

/**
 * A stored row with a value that does not decrypt (the keys were verified, so it is damage, or a key that
 * was revoked). Like any unreadable row it is left alone unless the environment configures its name; then
 * the run fails with its `DecryptionFailed`, which names the column, the key and the fix (exit 7).
 */
export class UndecryptableProvider extends UnreadableProvider.extend<UndecryptableProvider>("UndecryptableProvider")({
  failure: DecryptionFailed
}) {}

/** Why a stored row cannot be used by a command that needs it: its `DecryptionFailed`, if that is the reason. */
export const decryptionFailureOf = (row: StoredRow): DecryptionFailed | undefined =>
  row instanceof UndecryptableProvider ? row.failure : undefined

/**
 * A loaded row as the model (values decrypted by their key ids), or as an unreadable row naming what
 * cannot be read.
 */
export const toStoredRow = (encryption: typeof Encryption.Service) => (row: ProviderRow): StoredRow =>
  Either.getOrElse(
    decryptedRow(encryption, row),
    (failure) =>
      new UndecryptableProvider({
        id: row.id,
        name: row.name,
        reason: `its ${failure.column} cannot be decrypted (key ${failure.digest}: ${failure.reason})`,
        failure
      }, true)
  )

const decryptedRow = (encryption: typeof Encryption.Service, row: ProviderRow) =>
  Either.gen(function*() {
    const unreadable = (reason: string) => new UnreadableProvider({ id: row.id, name: row.name, reason }, true)
    const context = (column: string) => ({ provider: row.name, column })
    const keys: Array<Redacted.Redacted<string>> = []
    for (const [i, key] of row.keys.entries()) {
      keys.push(
        Redacted.make(yield* encryption.decrypt(key, row.key_ids[i] ?? null, context("ai_provider_keys.api_key")))
      )
    }
    const settingsText = row.settings === null
      ? null
      : yield* encryption.decrypt(row.settings, row.settings_key_id, context("ai_providers.settings"))
    if (!isProviderType(row.type)) {
      return unreadable(
        `its type ${JSON.stringify(row.type)} is unknown to this program (known: ${ProviderType.literals.join(", ")})`
      )
    }
    const type = row.type
    const settings = settingsText === null ? Either.right(null) : parseJson(settingsText)
    if (Either.isLeft(settings)) return unreadable("its settings are not JSON")
    const unknownSettings = unknownFields(settings.right)
    return Either.match(decodeSettings(settings.right), {
      onLeft: (error): StoredRow => unreadable(settingsProblem(error, settings.right)),
      onRight: (bedrock) =>
        new StoredProvider({
          id: row.id,
          name: row.name,
          type,
          base_url: row.base_url,
          keys,
          bedrock,
          display_name: row.display_name,
          enabled: row.enabled,
          deleted: row.deleted,
          unknown_settings: unknownSettings
        }, true)
    })
  })

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

/** A new, enabled provider row (display name = name, SPEC §5), with a fresh id. */
export const newProviderRow = (stamp: Stamp, provider: Provider): NewProviderRow => ({
  id: stamp.uuid(),
  provider,
  display_name: provider.name,
  enabled: true,
  created_at: stamp.now
})

/**
 * New key rows for a provider, with fresh ids. The keys of one run share `created_at`, and stored keys are
 * read back by (created_at, id): the ids are handed out in ascending order so the environment's order is kept.
 */
export const newKeyRows = (
  stamp: Stamp,
  providerId: string,
  keys: ReadonlyArray<Redacted.Redacted<string>>
): Array<NewKeyRow> => {
  const ids = keys.map(() => stamp.uuid()).sort()
  return keys.map((api_key, i) => ({ id: ids[i]!, provider_id: providerId, api_key, created_at: stamp.now }))
}
