import { Either } from "effect"
import { InvalidConfiguration } from "../core/Errors.js"
import {
  type BedrockField,
  bedrockFields,
  BedrockSettings,
  type PlainBedrockField,
  plainBedrockFields
} from "../core/Provider.js"
import { isSet, namesOf, text, type Variable } from "./ProviderVariables.js"

/** The Bedrock variables of one provider, by field. */
export type BedrockVariables = { readonly [Field in BedrockField]: Variable }

export const bedrockVariables = (variable: (field: BedrockField) => Variable): BedrockVariables =>
  Object.fromEntries(bedrockFields.map((field) => [field, variable(field)])) as BedrockVariables

export interface BedrockOutcome {
  readonly bedrock: BedrockSettings | null
  /** Variables that ended up in the settings. */
  readonly source: ReadonlyArray<string>
  readonly warnings: ReadonlyArray<string>
}

/**
 * SPEC §1.3, shared by the legacy and the indexed form: credentials are both-or-neither,
 * never together with a bearer key, and metadata without credentials is ignored (storing
 * it would misrepresent the provider as using Bedrock auth).
 */
export const bedrockRule = (
  input: BedrockVariables,
  bearer: ReadonlyArray<Variable>
): Either.Either<BedrockOutcome, InvalidConfiguration> => {
  const { access_key: accessKey, access_key_secret: accessKeySecret } = input
  const metadata = plainBedrockFields.map((field) => input[field])
  if (isSet(accessKey) !== isSet(accessKeySecret)) {
    const [present, missing] = isSet(accessKey) ? [accessKey, accessKeySecret] : [accessKeySecret, accessKey]
    return Either.left(
      new InvalidConfiguration({
        variables: [accessKey.variable, accessKeySecret.variable],
        rule:
          `AWS credentials for Bedrock need both the access key and the secret, but only ${present.variable} is set`,
        fix: `set ${missing.variable} as well, or unset ${present.variable}`
      })
    )
  }
  if (!isSet(accessKey) || !isSet(accessKeySecret)) {
    const ignored = namesOf(metadata)
    return Either.right({
      bedrock: null,
      source: [],
      warnings: ignored.length === 0 ? [] : [
        `${
          ignored.join(", ")
        } ignored: Bedrock settings are stored only together with AWS credentials (${accessKey.variable} and ${accessKeySecret.variable})`
      ]
    })
  }
  const bearerSet = namesOf(bearer)
  if (bearerSet.length > 0) {
    return Either.left(
      new InvalidConfiguration({
        variables: [accessKey.variable, accessKeySecret.variable, ...bearerSet],
        rule: "a bearer key together with Bedrock credentials on the same provider is ambiguous authentication",
        fix: `keep either the bearer key (${
          bearerSet.join(", ")
        }) or the Bedrock credentials (${accessKey.variable} and ${accessKeySecret.variable}), not both`
      })
    )
  }
  return Either.right({
    bedrock: new BedrockSettings({
      ...Object.fromEntries(plainBedrockFields.map((field) => [field, text(input[field])])) as Record<
        PlainBedrockField,
        string
      >,
      access_key: accessKey.value,
      access_key_secret: accessKeySecret.value
    }, true),
    source: [accessKey.variable, accessKeySecret.variable, ...namesOf(metadata)],
    warnings: []
  })
}
