import { Effect, Redacted } from "effect"
import { bedrockRule } from "./BedrockRule.js"
import type { DesiredProvider } from "./DesiredProvider.js"
import type { Variables } from "./ProviderEnvironment.js"
import { isSet, lookup } from "./Variable.js"

export const defaultBaseUrls = {
  openai: "https://api.openai.com/v1/",
  anthropic: "https://api.anthropic.com/"
} as const

export interface LegacyProviders {
  readonly providers: ReadonlyArray<DesiredProvider>
  readonly warnings: ReadonlyArray<string>
}

const ignoredWithout = (ignored: string, required: ReadonlyArray<string>) =>
  `${ignored} ignored: it applies only when ${required.join(" or ")} is set`

/** The legacy single-provider variables (SPEC §1.1): at most `openai`, then `anthropic`. */
export const legacyProviders = Effect.fn("LegacyProviders.legacyProviders")(function*(variables: Variables) {
  const get = (name: string) => lookup(variables, name)
  const providers: Array<DesiredProvider> = []
  const warnings: Array<string> = []

  const openaiKey = get("CODER_AIBRIDGE_OPENAI_KEY")
  const openaiBaseUrl = get("CODER_AIBRIDGE_OPENAI_BASE_URL")
  if (isSet(openaiKey)) {
    providers.push({
      name: "openai",
      type: "openai",
      source: [openaiKey.variable, ...(isSet(openaiBaseUrl) ? [openaiBaseUrl.variable] : [])],
      base_url: openaiBaseUrl.value ?? defaultBaseUrls.openai,
      keys: [Redacted.make(openaiKey.value)],
      bedrock: null
    })
  } else if (isSet(openaiBaseUrl)) {
    warnings.push(ignoredWithout(openaiBaseUrl.variable, [openaiKey.variable]))
  }

  const anthropicKey = get("CODER_AIBRIDGE_ANTHROPIC_KEY")
  const anthropicBaseUrl = get("CODER_AIBRIDGE_ANTHROPIC_BASE_URL")
  const bedrock = yield* bedrockRule({
    accessKey: get("CODER_AIBRIDGE_BEDROCK_ACCESS_KEY"),
    accessKeySecret: get("CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET"),
    region: get("CODER_AIBRIDGE_BEDROCK_REGION"),
    model: get("CODER_AIBRIDGE_BEDROCK_MODEL"),
    smallFastModel: get("CODER_AIBRIDGE_BEDROCK_SMALL_FAST_MODEL"),
    baseUrl: get("CODER_AIBRIDGE_BEDROCK_BASE_URL")
  }, [anthropicKey])
  warnings.push(...bedrock.warnings)
  if (isSet(anthropicKey) || bedrock.bedrock !== null) {
    providers.push({
      name: "anthropic",
      type: "anthropic",
      source: [
        ...(isSet(anthropicKey) ? [anthropicKey.variable] : []),
        ...(isSet(anthropicBaseUrl) ? [anthropicBaseUrl.variable] : []),
        ...bedrock.source
      ],
      base_url: anthropicBaseUrl.value ?? defaultBaseUrls.anthropic,
      keys: isSet(anthropicKey) ? [Redacted.make(anthropicKey.value)] : [],
      bedrock: bedrock.bedrock
    })
  } else if (isSet(anthropicBaseUrl)) {
    warnings.push(
      ignoredWithout(anthropicBaseUrl.variable, [
        anthropicKey.variable,
        "the Bedrock credentials (CODER_AIBRIDGE_BEDROCK_ACCESS_KEY and CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET)"
      ])
    )
  }
  return { providers, warnings } satisfies LegacyProviders
})
