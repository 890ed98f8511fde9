import { Effect, Redacted } from "effect"
import type { Bedrock } from "./DesiredProvider.js"
import { InvalidConfiguration } from "./Errors.js"
import type { Variable } from "./Variable.js"
import { isSet, namesOf } from "./Variable.js"

export interface BedrockInput {
  readonly accessKey: Variable
  readonly accessKeySecret: Variable
  readonly region: Variable
  readonly model: Variable
  readonly smallFastModel: Variable
  readonly baseUrl: Variable
}

export interface BedrockOutcome {
  readonly bedrock: Bedrock | null
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
  input: BedrockInput,
  bearer: ReadonlyArray<Variable>
): Effect.Effect<BedrockOutcome, InvalidConfiguration> => {
  const { accessKey, accessKeySecret } = input
  const metadata = [input.region, input.model, input.smallFastModel, input.baseUrl]
  if (isSet(accessKey) !== isSet(accessKeySecret)) {
    const [present, missing] = isSet(accessKey) ? [accessKey, accessKeySecret] : [accessKeySecret, accessKey]
    return Effect.fail(
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
    return Effect.succeed({
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
    return Effect.fail(
      new InvalidConfiguration({
        variables: [accessKey.variable, accessKeySecret.variable, ...bearerSet],
        rule: "a bearer key together with Bedrock credentials on the same provider is ambiguous authentication",
        fix: `keep either the bearer key (${
          bearerSet.join(", ")
        }) or the Bedrock credentials (${accessKey.variable} and ${accessKeySecret.variable}), not both`
      })
    )
  }
  return Effect.succeed({
    bedrock: {
      access_key: Redacted.make(accessKey.value),
      access_key_secret: Redacted.make(accessKeySecret.value),
      region: input.region.value ?? "",
      model: input.model.value ?? "",
      small_fast_model: input.smallFastModel.value ?? "",
      base_url: input.baseUrl.value ?? ""
    },
    source: [accessKey.variable, accessKeySecret.variable, ...namesOf(metadata)],
    warnings: []
  })
}
