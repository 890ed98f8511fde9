import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"
import { ProviderEnvironment } from "../../../src/env/ProviderEnvironment.js"

const env = {
  CODER_AIBRIDGE_OPENAI_KEY: "sk-legacy",
  CODER_AIBRIDGE_BEDROCK_SMALL_FAST_MODEL: "haiku",
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_0_KEYS: "a, b,c",
  CODER_AIBRIDGE_PROVIDER_10_BEDROCK_ACCESS_KEY_SECRET: "secret",
  CODER_AIBRIDGE_PROVIDER_X_NAME: "odd",
  CODER_AIBRIDGE_ENABLED: "true",
  CODER_AIBRIDGE_OPENAI_KEYS: "typo",
  HOME: "/root"
}

const expected = [
  ["CODER_AIBRIDGE_BEDROCK_SMALL_FAST_MODEL", "haiku"],
  ["CODER_AIBRIDGE_OPENAI_KEY", "sk-legacy"],
  ["CODER_AIBRIDGE_PROVIDER_0_KEYS", "a, b,c"],
  ["CODER_AIBRIDGE_PROVIDER_0_TYPE", "openai"],
  ["CODER_AIBRIDGE_PROVIDER_10_BEDROCK_ACCESS_KEY_SECRET", "secret"],
  ["CODER_AIBRIDGE_PROVIDER_X_NAME", "odd"]
]

const read = Effect.gen(function*() {
  const { variables } = yield* ProviderEnvironment
  return Array.from(variables, ([name, value]) => [name, Redacted.value(value)]).sort(([a], [b]) => a! < b! ? -1 : 1)
}).pipe(Effect.provide(ProviderEnvironment.Default))

describe("ProviderEnvironment", () => {
  it.effect("reads only the provider variables from ConfigProvider.fromMap (\".\" path delimiter)", () =>
    Effect.gen(function*() {
      expect(yield* read).toEqual(expected)
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))

  it.effect("reads the same from ConfigProvider.fromMap with a \"_\" path delimiter", () =>
    Effect.gen(function*() {
      expect(yield* read).toEqual(expected)
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_" }))))

  it.effect("reads the same from ConfigProvider.fromEnv", () =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const saved = { ...process.env }
        for (const name of Object.keys(process.env)) {
          if (name.startsWith("CODER_AIBRIDGE_")) delete process.env[name]
        }
        Object.assign(process.env, env)
        return saved
      }),
      () =>
        Effect.gen(function*() {
          expect(yield* read).toEqual(expected)
        }).pipe(Effect.withConfigProvider(ConfigProvider.fromEnv())),
      (saved) =>
        Effect.sync(() => {
          for (const name of Object.keys(env)) delete process.env[name]
          Object.assign(process.env, saved)
        })
    ))

  it.effect("keeps values redacted", () =>
    Effect.gen(function*() {
      const { variables } = yield* ProviderEnvironment
      expect(String(variables.get("CODER_AIBRIDGE_OPENAI_KEY"))).not.toContain("sk-legacy")
    }).pipe(
      Effect.provide(ProviderEnvironment.Default),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
    ))
})
