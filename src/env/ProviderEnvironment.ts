import { Config, Effect, HashMap, Iterable, Option, Redacted } from "effect"
import type { ConfigError } from "effect"
import * as IndexedConfigProvider from "./IndexedConfigProvider.js"
import { indexedPrefix, legacyVariableNames, type Variables, variablesOf } from "./ProviderVariables.js"

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

/** The provider variables among plain ones, in one pass: for the program's own ConfigProvider. */
const legacy: ReadonlySet<string> = new Set(legacyVariableNames)

const fromPlain = (plain: ReadonlyMap<string, string>): Variables =>
  variablesOf(Iterable.filter(plain, ([name]) => legacy.has(name) || name.startsWith(indexedPrefix)))

/** Through any ConfigProvider, by walking its tree: for servers and tests (`fromEnv`, `fromMap`, ...). */
const walk = Effect.gen(function*() {
  const variables = new Map<string, Redacted.Redacted<string>>()
  for (const name of legacyVariableNames) {
    const value = yield* Config.option(Config.redacted(name))
    if (Option.isSome(value) && Redacted.value(value.value) !== "") variables.set(name, value.value)
  }
  for (const path of yield* indexedNames([])) {
    const value = yield* valueAt(path)
    if (Option.isSome(value) && Redacted.value(value.value) !== "") variables.set(path.join("_"), value.value)
  }
  return variables
})

const load = Effect.gen(function*() {
  const plain = IndexedConfigProvider.variables(yield* Effect.configProviderWith(Effect.succeed))
  return { variables: plain === undefined ? yield* walk : fromPlain(plain) } satisfies {
    readonly variables: Variables
  }
})

/**
 * The raw environment variables relevant to providers, read through Effect `Config`
 * so servers and tests choose the `ConfigProvider` (`fromEnv`, `fromMap`, ...).
 */
export class ProviderEnvironment extends Effect.Service<ProviderEnvironment>()("ai-provider-seed/ProviderEnvironment", {
  effect: load
}) {}
