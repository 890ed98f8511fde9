import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Redacted } from "effect"
import type { DesiredProvider } from "../../../src/core/Provider.js"
import { deriveFrom } from "../../../src/env/DesiredProviders.js"
import { variablesOf } from "../../../src/env/ProviderVariables.js"

const variables = (env: Readonly<Record<string, string>>) => variablesOf(Object.entries(env))

const derive = (env: Readonly<Record<string, string>>) => deriveFrom(variables(env))

const keysOf = (provider: DesiredProvider | undefined) => provider?.keys.map(Redacted.value)

describe("deriveFrom", () => {
  it.effect("an empty environment yields an empty set", () =>
    Effect.gen(function*() {
      expect(yield* derive({ HOME: "/root" })).toEqual({ providers: [], skipped: [], warnings: [] })
    }))

  it.effect("legacy providers get fixed names and default base URLs", () =>
    Effect.gen(function*() {
      const set = yield* derive({ CODER_AIBRIDGE_OPENAI_KEY: "sk-o", CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-a" })
      expect(set.providers.map((p) => [p.name, p.type, p.base_url, p.bedrock])).toEqual([
        ["anthropic", "anthropic", "https://api.anthropic.com/", null],
        ["openai", "openai", "https://api.openai.com/v1/", null]
      ])
      expect(set.providers.map(keysOf)).toEqual([["sk-a"], ["sk-o"]])
      expect(set.providers.map((p) => p.source)).toEqual([["CODER_AIBRIDGE_ANTHROPIC_KEY"], [
        "CODER_AIBRIDGE_OPENAI_KEY"
      ]])
    }))

  it.effect("legacy base URLs override the defaults", () =>
    Effect.gen(function*() {
      const set = yield* derive({
        CODER_AIBRIDGE_OPENAI_KEY: "sk-o",
        CODER_AIBRIDGE_OPENAI_BASE_URL: "https://proxy.example/v1/"
      })
      expect(set.providers[0]?.base_url).toBe("https://proxy.example/v1/")
      expect(set.providers[0]?.source).toEqual(["CODER_AIBRIDGE_OPENAI_KEY", "CODER_AIBRIDGE_OPENAI_BASE_URL"])
    }))

  it.effect("legacy Bedrock credentials alone create anthropic with settings and no keys", () =>
    Effect.gen(function*() {
      const set = yield* derive({
        CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: "AKIA",
        CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: "secret",
        CODER_AIBRIDGE_BEDROCK_REGION: "eu-west-1"
      })
      const [anthropic] = set.providers
      expect(anthropic?.name).toBe("anthropic")
      expect(anthropic?.keys).toEqual([])
      expect(anthropic?.bedrock?.region).toBe("eu-west-1")
      expect(anthropic?.bedrock && Redacted.value(anthropic.bedrock.access_key)).toBe("AKIA")
    }))

  it.effect("Bedrock metadata without credentials is ignored with a warning", () =>
    Effect.gen(function*() {
      const set = yield* derive({ CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-a", CODER_AIBRIDGE_BEDROCK_MODEL: "claude" })
      expect(set.providers[0]?.bedrock).toBeNull()
      expect(set.warnings).toHaveLength(1)
      expect(set.warnings[0]).toContain("CODER_AIBRIDGE_BEDROCK_MODEL ignored")
    }))

  it.effect("indexed providers are ordered numerically, named by NAME or TYPE, sorted by name", () =>
    Effect.gen(function*() {
      const env: Record<string, string> = {}
      for (let i = 0; i <= 10; i++) {
        env[`CODER_AIBRIDGE_PROVIDER_${i}_TYPE`] = "openai"
        env[`CODER_AIBRIDGE_PROVIDER_${i}_NAME`] = `p${String.fromCharCode(107 - i)}`
      }
      delete env["CODER_AIBRIDGE_PROVIDER_0_NAME"]
      const set = yield* derive(env)
      expect(set.providers.map((p) => p.name)).toEqual([
        "openai",
        "pa",
        "pb",
        "pc",
        "pd",
        "pe",
        "pf",
        "pg",
        "ph",
        "pi",
        "pj"
      ])
      expect(set.providers[1]?.source).toEqual(["CODER_AIBRIDGE_PROVIDER_10_NAME", "CODER_AIBRIDGE_PROVIDER_10_TYPE"])
    }))

  it.effect("indexed base URL defaults by type; KEYS are trimmed", () =>
    Effect.gen(function*() {
      const set = yield* derive({
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "anthropic",
        CODER_AIBRIDGE_PROVIDER_0_NAME: "zdr",
        CODER_AIBRIDGE_PROVIDER_0_KEYS: " k1 ,k2,  k3",
        CODER_AIBRIDGE_PROVIDER_1_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_1_BASE_URL: "https://gw.example/",
        CODER_AIBRIDGE_PROVIDER_1_KEY: "single"
      })
      expect(set.providers.map((p) => [p.name, p.base_url, keysOf(p)])).toEqual([
        ["openai", "https://gw.example/", ["single"]],
        ["zdr", "https://api.anthropic.com/", ["k1", "k2", "k3"]]
      ])
    }))

  it.effect("indexed Bedrock on anthropic keeps the settings", () =>
    Effect.gen(function*() {
      const set = yield* derive({
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "anthropic",
        CODER_AIBRIDGE_PROVIDER_0_BEDROCK_ACCESS_KEY: "AKIA",
        CODER_AIBRIDGE_PROVIDER_0_BEDROCK_ACCESS_KEY_SECRET: "secret",
        CODER_AIBRIDGE_PROVIDER_0_BEDROCK_MODEL: "claude",
        CODER_AIBRIDGE_PROVIDER_0_BEDROCK_SMALL_FAST_MODEL: "haiku",
        CODER_AIBRIDGE_PROVIDER_0_BEDROCK_BASE_URL: "https://vpce.example/"
      })
      expect(set.providers[0]?.bedrock).toMatchObject({
        region: "",
        model: "claude",
        small_fast_model: "haiku",
        base_url: "https://vpce.example/"
      })
    }))

  it.effect("unknown types are skipped, recorded with their variable and logged at warning level", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const set = yield* derive({
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "copilot",
        CODER_AIBRIDGE_PROVIDER_0_KEY: "ghp-token",
        CODER_AIBRIDGE_PROVIDER_1_TYPE: "openai"
      }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, Logger.map(Logger.logfmtLogger, (l) => void logs.push(l))))
      )
      expect(set.providers.map((p) => p.name)).toEqual(["openai"])
      expect(set.skipped).toEqual([{
        name: "copilot",
        type: "copilot",
        source: ["CODER_AIBRIDGE_PROVIDER_0_KEY", "CODER_AIBRIDGE_PROVIDER_0_TYPE"]
      }])
      expect(logs).toHaveLength(1)
      expect(logs[0]).toContain("level=WARN")
      expect(logs[0]).toContain("CODER_AIBRIDGE_PROVIDER_0_TYPE")
      expect(logs[0]).toContain("copilot")
      expect(logs[0]).not.toContain("ghp-token")
    }))

  it.effect("a type in the wrong letter case is skipped with a warning that names the lowercase type", () =>
    Effect.gen(function*() {
      const set = yield* derive({ CODER_AIBRIDGE_PROVIDER_0_TYPE: "OpenAI", CODER_AIBRIDGE_PROVIDER_0_NAME: "x" })
      expect(set.providers).toEqual([])
      expect(set.skipped.map((skipped) => skipped.type)).toEqual(["OpenAI"])
      expect(set.warnings).toEqual([expect.stringContaining(`types are lowercase: "openai"`)])
    }))

  it.effect("a type in the wrong letter case without a NAME (the name taken from it) is told to write it in lowercase", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(derive({ CODER_AIBRIDGE_PROVIDER_0_TYPE: "OpenAI" }))
      expect(error.message).toContain(`write CODER_AIBRIDGE_PROVIDER_0_TYPE in lowercase ("openai")`)
    }))

  it.effect("indices of nine digits are numbers (a gap, named exactly), of ten digits invalid", () =>
    Effect.gen(function*() {
      const gap = yield* Effect.flip(derive({
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_999999999_TYPE: "openai"
      }))
      expect(gap.message).toContain("index 1 is missing (indices found: 0, 999999999)")
      const tooLarge = yield* Effect.flip(derive({
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_1000000000_TYPE: "openai"
      }))
      expect(tooLarge.message).toContain("the index 1000000000 is too large")
    }))

  it.effect("an index too large to be contiguous is invalid, named exactly (not rounded to a neighbour)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(derive({
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_99999999999999999999_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_99999999999999999998_TYPE: "openai"
      }))
      expect(error._tag).toBe("InvalidConfiguration")
      expect(error.message).toContain("CODER_AIBRIDGE_PROVIDER_99999999999999999998_TYPE")
      expect(error.message).toContain("the index 99999999999999999998 is too large")
    }))

  it.effect("a gap among thousands of indices is named with a short list of the indices found", () =>
    Effect.gen(function*() {
      const env: Record<string, string> = {}
      for (let i = 0; i < 5000; i++) if (i !== 4321) env[`CODER_AIBRIDGE_PROVIDER_${i}_TYPE`] = "openai"
      const error = yield* Effect.flip(derive(env))
      expect(error.message).toContain(
        "index 4321 is missing (indices found: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... 4999 in all)"
      )
    }))

  it.effect("an unknown field suffix is a warning naming the variable", () =>
    Effect.gen(function*() {
      const set = yield* derive({ CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_BASEURL: "x" })
      expect(set.providers).toHaveLength(1)
      expect(set.warnings).toEqual([expect.stringContaining("CODER_AIBRIDGE_PROVIDER_0_BASEURL ignored")])
    }))

  it.effect("identical indexed duplicates collapse into one with a warning", () =>
    Effect.gen(function*() {
      const set = yield* derive({
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_0_KEYS: "k1,k2",
        CODER_AIBRIDGE_PROVIDER_1_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_1_KEYS: "k2, k1"
      })
      expect(set.providers.map((p) => p.name)).toEqual(["openai"])
      expect(set.providers[0]?.source).toEqual([
        "CODER_AIBRIDGE_PROVIDER_0_KEYS",
        "CODER_AIBRIDGE_PROVIDER_0_TYPE",
        "CODER_AIBRIDGE_PROVIDER_1_KEYS",
        "CODER_AIBRIDGE_PROVIDER_1_TYPE"
      ])
      expect(set.warnings).toEqual([expect.stringContaining("identically")])
    }))

  it.effect("empty values count as unset", () =>
    Effect.gen(function*() {
      const set = yield* derive({
        CODER_AIBRIDGE_OPENAI_KEY: "",
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_0_NAME: "",
        CODER_AIBRIDGE_PROVIDER_0_KEY: "k",
        CODER_AIBRIDGE_PROVIDER_0_KEYS: ""
      })
      expect(set.providers.map((p) => [p.name, keysOf(p)])).toEqual([["openai", ["k"]]])
    }))

  it.effect("errors are typed and carry the variables", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(derive({ CODER_AIBRIDGE_PROVIDER_1_TYPE: "openai" }))
      expect(error._tag).toBe("InvalidConfiguration")
      expect(error._tag === "InvalidConfiguration" && error.variables).toEqual(["CODER_AIBRIDGE_PROVIDER_0_TYPE"])
    }))
})
