import { Either } from "effect"
import { defaultBaseUrls, DesiredProvider } from "../core/Provider.js"
import { bedrockRule, bedrockVariables } from "./BedrockRule.js"
import { isSet, legacyVariable, lookup, namesOf, text, type Variables } from "./ProviderVariables.js"

export interface LegacyProviders {
  readonly providers: ReadonlyArray<DesiredProvider>
  readonly warnings: ReadonlyArray<string>
}

const ignoredWithout = (ignored: string, required: ReadonlyArray<string>) =>
  `${ignored} ignored: it applies only when ${required.join(" or ")} is set`

/** The legacy single-provider variables (SPEC §1.1): at most `openai`, then `anthropic`. */
export const legacyProviders = (variables: Variables) =>
  Either.gen(function*() {
    const get = (name: string) => lookup(variables, name)
    const providers: Array<DesiredProvider> = []
    const warnings: Array<string> = []

    const openaiKey = get(legacyVariable.openaiKey)
    const openaiBaseUrl = get(legacyVariable.openaiBaseUrl)
    if (isSet(openaiKey)) {
      providers.push(
        new DesiredProvider({
          name: "openai",
          type: "openai",
          source: namesOf([openaiKey, openaiBaseUrl]),
          base_url: text(openaiBaseUrl) || defaultBaseUrls.openai,
          keys: [openaiKey.value],
          bedrock: null
        }, true)
      )
    } else if (isSet(openaiBaseUrl)) {
      warnings.push(ignoredWithout(openaiBaseUrl.variable, [openaiKey.variable]))
    }

    const anthropicKey = get(legacyVariable.anthropicKey)
    const anthropicBaseUrl = get(legacyVariable.anthropicBaseUrl)
    const bedrockCredentials = bedrockVariables((field) => get(legacyVariable.bedrock(field)))
    const bedrock = yield* bedrockRule(bedrockCredentials, [anthropicKey])
    warnings.push(...bedrock.warnings)
    if (isSet(anthropicKey) || bedrock.bedrock !== null) {
      providers.push(
        new DesiredProvider({
          name: "anthropic",
          type: "anthropic",
          source: [...namesOf([anthropicKey, anthropicBaseUrl]), ...bedrock.source],
          base_url: text(anthropicBaseUrl) || defaultBaseUrls.anthropic,
          keys: isSet(anthropicKey) ? [anthropicKey.value] : [],
          bedrock: bedrock.bedrock
        }, true)
      )
    } else if (isSet(anthropicBaseUrl)) {
      warnings.push(
        ignoredWithout(anthropicBaseUrl.variable, [
          anthropicKey.variable,
          `the Bedrock credentials (${bedrockCredentials.access_key.variable} and ${bedrockCredentials.access_key_secret.variable})`
        ])
      )
    }
    return { providers, warnings } satisfies LegacyProviders
  })
