import { Config, Context, Effect, HashMap, Layer, Option } from "effect"
import type { ConfigError, Redacted } from "effect"

/** The legacy single-provider variables (SPEC §1.1), read by exact name. */
export const legacyVariables = [
  "CODER_AIBRIDGE_OPENAI_KEY",
  "CODER_AIBRIDGE_OPENAI_BASE_URL",
  "CODER_AIBRIDGE_ANTHROPIC_KEY",
  "CODER_AIBRIDGE_ANTHROPIC_BASE_URL",
  "CODER_AIBRIDGE_BEDROCK_ACCESS_KEY",
  "CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET",
  "CODER_AIBRIDGE_BEDROCK_REGION",
  "CODER_AIBRIDGE_BEDROCK_MODEL",
  "CODER_AIBRIDGE_BEDROCK_SMALL_FAST_MODEL",
  "CODER_AIBRIDGE_BEDROCK_BASE_URL"
] as const

export const indexedPrefix = "CODER_AIBRIDGE_PROVIDER_"

/** Every value is redacted: the environment holds keys, and this map must be safe to log by accident. */
export type Variables = ReadonlyMap<string, Redacted.Redacted<string>>

const atPath = <A>(config: Config.Config<A>, path: ReadonlyArray<string>): Config.Config<A> =>
  path.reduceRight((inner, segment) => Config.nested(inner, segment), config)

const children = (path: ReadonlyArray<string>) =>
  atPath(Config.hashMap(Config.succeed(true)), path).pipe(Config.map((map) => Array.from(HashMap.keys(map))))

const valueAt = (path: ReadonlyArray<string>) => atPath(Config.option(Config.redacted()), path)

/**
 * Config providers split variable names into path segments differently: `fromEnv`
 * splits on "_" (children of [] are "CODER", "HOME", ...), `fromMap` on "." (children
 * of [] are whole names). So the indexed variables, whose names are not known in
 * advance, are found by walking the tree from the root with `Config.hashMap` (only
 * enumerating children) and descending only into segments that can still lead to a
 * name starting with the prefix. Segments joined with "_" give back the variable name
 * for both providers. Values are loaded only for names under the prefix.
 */
const indexedNames = (
  path: ReadonlyArray<string>
): Effect.Effect<Array<ReadonlyArray<string>>, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const joined = path.join("_")
    const here = joined.startsWith(indexedPrefix) ? [path] : []
    const found = yield* children(path)
    const deeper = yield* Effect.forEach(
      found.filter((child) => {
        const name = joined === "" ? child : `${joined}_${child}`
        return name.startsWith(indexedPrefix) || indexedPrefix.startsWith(`${name}_`)
      }),
      (child) => indexedNames([...path, child])
    )
    return [...here, ...deeper.flat()]
  })

const load = Effect.gen(function*() {
  const variables = new Map<string, Redacted.Redacted<string>>()
  for (const name of legacyVariables) {
    const value = yield* Config.option(Config.redacted(name))
    if (Option.isSome(value)) variables.set(name, value.value)
  }
  for (const path of yield* indexedNames([])) {
    const value = yield* valueAt(path)
    if (Option.isSome(value)) variables.set(path.join("_"), value.value)
  }
  return { variables } satisfies { readonly variables: Variables }
})

/**
 * The raw environment variables relevant to providers, read through Effect `Config`
 * so servers and tests choose the `ConfigProvider` (`fromEnv`, `fromMap`, ...).
 */
export class ProviderEnvironment extends Context.Tag("ai-provider-seed/ProviderEnvironment")<
  ProviderEnvironment,
  { readonly variables: Variables }
>() {
  static readonly layer = Layer.effect(ProviderEnvironment, load)
}
