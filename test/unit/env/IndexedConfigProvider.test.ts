import { describe, expect, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, HashSet, Redacted } from "effect"
import { fromVariables } from "../../../src/env/IndexedConfigProvider.js"
import { ProviderEnvironment } from "../../../src/env/ProviderEnvironment.js"

const env = {
  CODER_AIBRIDGE_OPENAI_KEY: "sk-legacy",
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_0_KEYS: "a, b,c",
  CODER_AIBRIDGE_PROVIDER_10_BEDROCK_ACCESS_KEY_SECRET: "secret",
  CODER_AIBRIDGE_PROVIDER_X_NAME: "odd",
  HOME: "/root",
  UNSET: undefined
}

const read = Effect.map(
  ProviderEnvironment,
  ({ variables }) => Array.from(variables, ([name, value]) => `${name}=${Redacted.value(value)}`).sort()
).pipe(Effect.provide(ProviderEnvironment.Default))

describe("IndexedConfigProvider.fromVariables", () => {
  it.effect("enumerates the children of a path, split on \"_\" like fromEnv", () =>
    Effect.gen(function*() {
      const provider = fromVariables(Object.entries(env))
      const children = (path: ReadonlyArray<string>) =>
        Effect.map(provider.flattened.enumerateChildren(path), (set) => Array.from(HashSet.values(set)).sort())
      expect(yield* children([])).toEqual(["CODER", "HOME"])
      expect(yield* children(["CODER", "AIBRIDGE", "PROVIDER"])).toEqual(["0", "10", "X"])
      expect(yield* children(["CODER", "AIBRIDGE", "PROVIDER", "10", "BEDROCK", "ACCESS", "KEY"])).toEqual(["SECRET"])
      expect(yield* children(["NOWHERE"])).toEqual([])
    }))

  it.effect("loads values as fromMap does, and leaves unset values out", () =>
    Effect.gen(function*() {
      expect(yield* Config.string("CODER_AIBRIDGE_PROVIDER_0_KEYS")).toBe("a, b,c")
      expect(yield* Config.option(Config.string("UNSET"))).toEqual(yield* Config.option(Config.string("MISSING")))
    }).pipe(Effect.withConfigProvider(fromVariables(Object.entries(env)))))

  it.effect("loads every Config shape as fromMap does, sequences named NAME[0] included", () =>
    Effect.gen(function*() {
      const variables = {
        ...env,
        LIST: "a,b",
        "ARR[0]": "p",
        "ARR[1]": "q",
        PORT: "5432",
        NESTED_DEEP_VALUE: "v"
      }
      const configs: ReadonlyArray<Config.Config<unknown>> = [
        Config.nested(Config.string("[0]"), "ARR"),
        Config.array(Config.string(), "ARR"),
        Config.array(Config.string(), "LIST"),
        Config.integer("PORT"),
        Config.nested(Config.nested(Config.string("VALUE"), "DEEP"), "NESTED"),
        Config.hashMap(Config.string(), "NESTED"),
        Config.option(Config.string("MISSING"))
      ]
      const through = (provider: ReturnType<typeof fromVariables>) =>
        Effect.forEach(configs, (config) => Effect.either(Effect.withConfigProvider(config, provider)))
      const withoutSequences = Object.entries(variables).filter(([name]) => !name.includes("["))
      const asMap = (entries: ReadonlyArray<readonly [string, string | undefined]>) =>
        ConfigProvider.fromMap(
          new Map(entries.flatMap(([name, value]) => value === undefined ? [] : [[name, value] as const])),
          { pathDelim: "_" }
        )
      expect(yield* through(fromVariables(Object.entries(variables)))).toEqual(
        yield* through(asMap(Object.entries(variables)))
      )
      expect(yield* through(fromVariables(withoutSequences))).toEqual(yield* through(asMap(withoutSequences)))
    }))

  it.effect("gives ProviderEnvironment the same variables as the other providers", () =>
    Effect.gen(function*() {
      expect(yield* read).toEqual([
        "CODER_AIBRIDGE_OPENAI_KEY=sk-legacy",
        "CODER_AIBRIDGE_PROVIDER_0_KEYS=a, b,c",
        "CODER_AIBRIDGE_PROVIDER_0_TYPE=openai",
        "CODER_AIBRIDGE_PROVIDER_10_BEDROCK_ACCESS_KEY_SECRET=secret",
        "CODER_AIBRIDGE_PROVIDER_X_NAME=odd"
      ])
    }).pipe(Effect.withConfigProvider(fromVariables(Object.entries(env)))))

  it.effect("reads thousands of indexed providers (the default providers are quadratic here)", () =>
    Effect.gen(function*() {
      const many = Array.from({ length: 5000 }, (_, i) =>
        [
          [`CODER_AIBRIDGE_PROVIDER_${i}_TYPE`, "openai"],
          [`CODER_AIBRIDGE_PROVIDER_${i}_NAME`, `p-${i}`]
        ] as const).flat()
      const variables = yield* read.pipe(Effect.withConfigProvider(fromVariables(many)))
      expect(variables).toHaveLength(10_000)
      expect(variables).toContain("CODER_AIBRIDGE_PROVIDER_4999_NAME=p-4999")
    }))
})
