/**
 * The one model of an AI provider (SPEC §1-4): what the environment asks for, what is stored, and what
 * every output shows through `MaskedProvider`. Secrets are `Redacted` from the environment variable to
 * the two places that must reveal them: the canonical hash and the insert statement.
 */
import { Redacted, Schema } from "effect"

/** The provider types the database enum `ai_provider_type` knows. */
export const ProviderType = Schema.Literal("openai", "anthropic")
export type ProviderType = typeof ProviderType.Type

/** A plain lookup: it runs once per provider on both sides of a seed of thousands. */
const providerTypes: ReadonlySet<string> = new Set(ProviderType.literals)
export const isProviderType = (type: string): type is ProviderType => providerTypes.has(type)

export const defaultBaseUrls: Readonly<Record<ProviderType, string>> = {
  openai: "https://api.openai.com/v1/",
  anthropic: "https://api.anthropic.com/"
}

const Secret = Schema.Redacted(Schema.String)

/**
 * Bedrock settings (SPEC §1.3), present only when both AWS credentials are; "" where a field is unset.
 * The field order is the canonical order of SPEC §3, and the field names give the variable names
 * (`access_key` <- `..._BEDROCK_ACCESS_KEY`).
 */
export class BedrockSettings extends Schema.Class<BedrockSettings>("BedrockSettings")({
  access_key: Secret,
  access_key_secret: Secret,
  region: Schema.String,
  model: Schema.String,
  small_fast_model: Schema.String,
  base_url: Schema.String
}) {}

export type BedrockField = keyof typeof BedrockSettings.fields
export const bedrockFields = Object.keys(BedrockSettings.fields) as ReadonlyArray<BedrockField>
export const secretBedrockFields = ["access_key", "access_key_secret"] as const satisfies ReadonlyArray<BedrockField>
export type SecretBedrockField = typeof secretBedrockFields[number]
export type PlainBedrockField = Exclude<BedrockField, SecretBedrockField>
export const isSecretBedrockField = (field: BedrockField): field is SecretBedrockField =>
  (secretBedrockFields as ReadonlyArray<BedrockField>).includes(field)
/** Region, models and base URL: configuration, shown as is. */
export const plainBedrockFields = bedrockFields.filter((field) => !isSecretBedrockField(field)) as ReadonlyArray<
  PlainBedrockField
>

/** A provider's configuration: its identity, endpoint, bearer keys and Bedrock settings. */
export const providerFields = {
  name: Schema.String,
  type: ProviderType,
  base_url: Schema.String,
  /** Bearer keys (`ai_provider_keys`), oldest first. Not part of the canonical form: they rotate in the database. */
  keys: Schema.Array(Secret),
  bedrock: Schema.NullOr(BedrockSettings)
}

/** One provider the environment asks for, with the variables it came from so messages can point at them. */
export class DesiredProvider extends Schema.Class<DesiredProvider>("DesiredProvider")({
  ...providerFields,
  source: Schema.Array(Schema.String)
}) {}

/** A provider row as stored, soft-deleted and disabled ones included, with its keys. */
export class StoredProvider extends Schema.Class<StoredProvider>("StoredProvider")({
  id: Schema.UUID,
  ...providerFields,
  display_name: Schema.NullOr(Schema.String),
  enabled: Schema.Boolean,
  deleted: Schema.Boolean,
  /** Fields of the stored settings that this program does not know (names only: values may be secrets). */
  unknown_settings: Schema.Array(Schema.String)
}) {
  get state(): "enabled" | "disabled" | "deleted" {
    return this.deleted ? "deleted" : this.enabled ? "enabled" : "disabled"
  }
}

/** Whether two key lists hold the same keys, in any order. */
export const sameKeys = (
  a: ReadonlyArray<Redacted.Redacted<string>>,
  b: ReadonlyArray<Redacted.Redacted<string>>
): boolean => {
  const [left, right] = [a.map(Redacted.value).sort(), b.map(Redacted.value).sort()]
  return left.length === right.length && left.every((key, i) => key === right[i])
}

/** The part of a provider that every model above has. */
export type Provider = Pick<DesiredProvider, keyof typeof providerFields>

/**
 * A stored row that cannot be read as a provider (a type this program does not know, settings of another
 * version, ...). It matters only when the environment configures its name; otherwise it is left alone.
 */
export class UnreadableProvider extends Schema.TaggedClass<UnreadableProvider>()("UnreadableProvider", {
  id: Schema.String,
  name: Schema.String,
  /** What cannot be read, without any value (it may be a secret). */
  reason: Schema.String
}) {}

export type StoredRow = StoredProvider | UnreadableProvider

/** An indexed provider whose TYPE the database cannot store yet. */
export class SkippedProvider extends Schema.Class<SkippedProvider>("SkippedProvider")({
  name: Schema.String,
  type: Schema.String,
  source: Schema.Array(Schema.String)
}) {}

/** What the environment asks for (SPEC §2): providers sorted by name, skipped types, warnings. */
export interface DesiredSet {
  readonly providers: ReadonlyArray<DesiredProvider>
  readonly skipped: ReadonlyArray<SkippedProvider>
  readonly warnings: ReadonlyArray<string>
}
