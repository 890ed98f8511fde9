/**
 * The one way a provider is shown (SPEC §8): `config`, `providers list`, reports, audit rows, the
 * reader's consumers. Secrets are masked (`sk-a...efgh`), URLs lose their credentials (`***`), and
 * unset Bedrock fields are "".
 */
import { Schema } from "effect"
import { maskSecret } from "./Mask.js"
import {
  type BedrockField,
  bedrockFields,
  type BedrockSettings,
  isSecretBedrockField,
  type Provider,
  ProviderType
} from "./Provider.js"
import { maskUrl } from "./UrlMask.js"

/** Every Bedrock field as a string: secrets masked, the base URL without credentials. */
export const MaskedBedrock = Schema.Struct(
  Object.fromEntries(bedrockFields.map((field) => [field, Schema.String])) as {
    readonly [Field in BedrockField]: typeof Schema.String
  }
)
export type MaskedBedrock = typeof MaskedBedrock.Type

export const maskedFields = {
  name: Schema.String,
  type: ProviderType,
  base_url: Schema.String,
  keys: Schema.Array(Schema.String),
  bedrock: Schema.NullOr(MaskedBedrock)
}
export const MaskedProvider = Schema.Struct(maskedFields)
export type MaskedProvider = typeof MaskedProvider.Type

export const maskBedrock = (bedrock: BedrockSettings): MaskedBedrock => {
  const masked: Record<string, string> = {}
  for (const field of bedrockFields) {
    masked[field] = isSecretBedrockField(field)
      ? maskSecret(bedrock[field])
      : field === "base_url"
      ? maskUrl(bedrock[field])
      : bedrock[field]
  }
  return masked as MaskedBedrock
}

export const maskProvider = (provider: Provider): MaskedProvider => ({
  name: provider.name,
  type: provider.type,
  base_url: maskUrl(provider.base_url),
  keys: provider.keys.map(maskSecret),
  bedrock: provider.bedrock === null ? null : maskBedrock(provider.bedrock)
})
