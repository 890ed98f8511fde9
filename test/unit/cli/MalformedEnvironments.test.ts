/**
 * Each malformed environment runs through the in-process `config` command and must exit
 * with the right code, name the offending variables, and print no secret anywhere.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { runCli } from "../../support/runCli.js"

interface Case {
  readonly title: string
  readonly env: Readonly<Record<string, string>>
  readonly code: 2 | 4
  readonly names: ReadonlyArray<string>
}

const P = "CODER_AIBRIDGE_PROVIDER_"
const L = "CODER_AIBRIDGE_"
const k1 = "sk-live-Q7w9e8r7t6y5u4i3"
const k2 = "sk-live-Z1x2c3v4b5n6m7a8"
const ak = "AKIAIOSFODNN7EXAMPLE"
const sk = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

const cases: ReadonlyArray<Case> = [
  // Legacy Bedrock rule
  {
    title: "legacy access key without secret",
    env: { [`${L}BEDROCK_ACCESS_KEY`]: ak },
    code: 2,
    names: [`${L}BEDROCK_ACCESS_KEY`, `${L}BEDROCK_ACCESS_KEY_SECRET`]
  },
  {
    title: "legacy secret without access key",
    env: { [`${L}BEDROCK_ACCESS_KEY_SECRET`]: sk },
    code: 2,
    names: [`${L}BEDROCK_ACCESS_KEY`, `${L}BEDROCK_ACCESS_KEY_SECRET`]
  },
  {
    title: "legacy secret and region without access key",
    env: { [`${L}BEDROCK_ACCESS_KEY_SECRET`]: sk, [`${L}BEDROCK_REGION`]: "us-east-1" },
    code: 2,
    names: [`${L}BEDROCK_ACCESS_KEY`, `${L}BEDROCK_ACCESS_KEY_SECRET`]
  },
  {
    title: "legacy anthropic key with half Bedrock credentials",
    env: { [`${L}ANTHROPIC_KEY`]: k1, [`${L}BEDROCK_ACCESS_KEY`]: ak },
    code: 2,
    names: [`${L}BEDROCK_ACCESS_KEY`, `${L}BEDROCK_ACCESS_KEY_SECRET`]
  },
  {
    title: "legacy anthropic key with Bedrock credentials (ambiguous auth)",
    env: { [`${L}ANTHROPIC_KEY`]: k1, [`${L}BEDROCK_ACCESS_KEY`]: ak, [`${L}BEDROCK_ACCESS_KEY_SECRET`]: sk },
    code: 2,
    names: [`${L}ANTHROPIC_KEY`, `${L}BEDROCK_ACCESS_KEY`, `${L}BEDROCK_ACCESS_KEY_SECRET`]
  },
  {
    title: "valid legacy openai next to half legacy Bedrock credentials",
    env: { [`${L}OPENAI_KEY`]: k1, [`${L}BEDROCK_ACCESS_KEY_SECRET`]: sk, [`${L}BEDROCK_MODEL`]: "claude" },
    code: 2,
    names: [`${L}BEDROCK_ACCESS_KEY`, `${L}BEDROCK_ACCESS_KEY_SECRET`]
  },
  // Index grammar
  {
    title: "non-numeric index",
    env: { [`${P}X_TYPE`]: "openai", [`${P}X_KEY`]: k1 },
    code: 2,
    names: [`${P}X_KEY`]
  },
  {
    title: "index with a leading zero",
    env: { [`${P}01_TYPE`]: "openai", [`${P}01_KEY`]: k1 },
    code: 2,
    names: [`${P}01_KEY`]
  },
  { title: "empty index", env: { [`${P}_TYPE`]: "openai" }, code: 2, names: [`${P}_TYPE`] },
  { title: "negative index", env: { [`${P}-1_TYPE`]: "openai" }, code: 2, names: [`${P}-1_TYPE`] },
  { title: "exponent index", env: { [`${P}1E1_TYPE`]: "openai" }, code: 2, names: [`${P}1E1_TYPE`] },
  {
    title: "non-numeric index next to valid ones",
    env: { [`${P}0_TYPE`]: "openai", [`${P}first_TYPE`]: "openai" },
    code: 2,
    names: [`${P}first_TYPE`]
  },
  {
    title: "gap at index 1",
    env: { [`${P}0_TYPE`]: "openai", [`${P}2_TYPE`]: "anthropic", [`${P}2_KEY`]: k1 },
    code: 2,
    names: [`${P}1_TYPE`, "index 1"]
  },
  {
    title: "indices starting at 1",
    env: { [`${P}1_TYPE`]: "openai", [`${P}1_KEY`]: k1 },
    code: 2,
    names: [`${P}0_TYPE`, "index 0"]
  },
  {
    title: "gap at index 10",
    env: Object.fromEntries([...Array.from({ length: 10 }, (_, i) => [`${P}${i}_TYPE`, "openai"]), [
      `${P}11_TYPE`,
      "openai"
    ], [`${P}0_NAME`, "zero"]]),
    code: 2,
    names: [`${P}10_TYPE`, "index 10"]
  },
  // TYPE required
  {
    title: "index without TYPE",
    env: { [`${P}0_NAME`]: "mine", [`${P}0_KEY`]: k1 },
    code: 2,
    names: [`${P}0_TYPE`]
  },
  {
    title: "empty TYPE",
    env: { [`${P}0_TYPE`]: "", [`${P}0_KEYS`]: `${k1},${k2}` },
    code: 2,
    names: [`${P}0_TYPE`]
  },
  {
    title: "second index without TYPE",
    env: { [`${P}0_TYPE`]: "openai", [`${P}1_BASE_URL`]: "https://x.example/", [`${P}1_KEY`]: k2 },
    code: 2,
    names: [`${P}1_TYPE`]
  },
  // Name rule
  ...["My Provider", "UPPER", "-lead", "trail-", "dou--ble", "under_score", "dot.name", "ünï"].map((name): Case => ({
    title: `invalid NAME ${JSON.stringify(name)}`,
    env: { [`${P}0_TYPE`]: "openai", [`${P}0_NAME`]: name, [`${P}0_KEY`]: k1 },
    code: 2,
    names: [`${P}0_NAME`, "^[a-z0-9]+(-[a-z0-9]+)*$"]
  })),
  {
    title: "TYPE that is not a valid default name",
    env: { [`${P}0_TYPE`]: "OpenAI", [`${P}0_KEY`]: k1 },
    code: 2,
    names: [`${P}0_TYPE`, `${P}0_NAME`]
  },
  {
    title: "invalid NAME on an unknown type is still an error",
    env: { [`${P}0_TYPE`]: "copilot", [`${P}0_NAME`]: "Copilot!", [`${P}0_KEY`]: k1 },
    code: 2,
    names: [`${P}0_NAME`]
  },
  // KEY and KEYS
  {
    title: "KEY together with KEYS",
    env: { [`${P}0_TYPE`]: "openai", [`${P}0_KEY`]: k1, [`${P}0_KEYS`]: k2 },
    code: 2,
    names: [`${P}0_KEY`, `${P}0_KEYS`]
  },
  {
    title: "KEYS with a doubled comma",
    env: { [`${P}0_TYPE`]: "openai", [`${P}0_KEYS`]: `${k1},,${k2}` },
    code: 2,
    names: [`${P}0_KEYS`, "item 2"]
  },
  {
    title: "KEYS with a trailing comma",
    env: { [`${P}0_TYPE`]: "openai", [`${P}0_KEYS`]: `${k1},` },
    code: 2,
    names: [`${P}0_KEYS`, "item 2"]
  },
  {
    title: "KEYS with a leading comma",
    env: { [`${P}0_TYPE`]: "openai", [`${P}0_KEYS`]: `,${k1}` },
    code: 2,
    names: [`${P}0_KEYS`, "item 1"]
  },
  {
    title: "KEYS with a blank item",
    env: { [`${P}0_TYPE`]: "anthropic", [`${P}0_KEYS`]: `${k1},   ,${k2}` },
    code: 2,
    names: [`${P}0_KEYS`, "empty"]
  },
  {
    title: "KEYS with a duplicate",
    env: { [`${P}0_TYPE`]: "openai", [`${P}0_KEYS`]: `${k1},${k2},${k1}` },
    code: 2,
    names: [`${P}0_KEYS`, "items 1 and 3"]
  },
  {
    title: "KEYS duplicate after trimming",
    env: { [`${P}0_TYPE`]: "openai", [`${P}0_KEYS`]: `${k1}, ${k1} ` },
    code: 2,
    names: [`${P}0_KEYS`, "same key"]
  },
  {
    title: "KEYS with six items",
    env: {
      [`${P}0_TYPE`]: "openai",
      [`${P}0_KEYS`]: Array.from({ length: 6 }, (_, i) => `${k1}-${i}`).join(",")
    },
    code: 2,
    names: [`${P}0_KEYS`, "at most 5"]
  },
  // Bedrock only on anthropic
  {
    title: "BEDROCK_REGION on openai",
    env: { [`${P}0_TYPE`]: "openai", [`${P}0_KEY`]: k1, [`${P}0_BEDROCK_REGION`]: "us-east-1" },
    code: 2,
    names: [`${P}0_BEDROCK_REGION`, `${P}0_TYPE`]
  },
  {
    title: "Bedrock credentials on openai",
    env: { [`${P}0_TYPE`]: "openai", [`${P}0_BEDROCK_ACCESS_KEY`]: ak, [`${P}0_BEDROCK_ACCESS_KEY_SECRET`]: sk },
    code: 2,
    names: [`${P}0_BEDROCK_ACCESS_KEY`, `${P}0_BEDROCK_ACCESS_KEY_SECRET`]
  },
  {
    title: "BEDROCK_MODEL on a second openai provider",
    env: {
      [`${P}0_TYPE`]: "anthropic",
      [`${P}1_TYPE`]: "openai",
      [`${P}1_NAME`]: "gpt",
      [`${P}1_BEDROCK_MODEL`]: "claude"
    },
    code: 2,
    names: [`${P}1_BEDROCK_MODEL`]
  },
  // Indexed Bedrock credentials
  {
    title: "indexed access key without secret",
    env: { [`${P}0_TYPE`]: "anthropic", [`${P}0_BEDROCK_ACCESS_KEY`]: ak },
    code: 2,
    names: [`${P}0_BEDROCK_ACCESS_KEY`, `${P}0_BEDROCK_ACCESS_KEY_SECRET`]
  },
  {
    title: "indexed secret without access key",
    env: { [`${P}0_TYPE`]: "anthropic", [`${P}0_BEDROCK_ACCESS_KEY_SECRET`]: sk, [`${P}0_BEDROCK_REGION`]: "x" },
    code: 2,
    names: [`${P}0_BEDROCK_ACCESS_KEY`, `${P}0_BEDROCK_ACCESS_KEY_SECRET`]
  },
  {
    title: "indexed KEY with Bedrock credentials (ambiguous auth)",
    env: {
      [`${P}0_TYPE`]: "anthropic",
      [`${P}0_KEY`]: k1,
      [`${P}0_BEDROCK_ACCESS_KEY`]: ak,
      [`${P}0_BEDROCK_ACCESS_KEY_SECRET`]: sk
    },
    code: 2,
    names: [`${P}0_KEY`, `${P}0_BEDROCK_ACCESS_KEY`, `${P}0_BEDROCK_ACCESS_KEY_SECRET`, "ambiguous"]
  },
  {
    title: "indexed KEYS with Bedrock credentials (ambiguous auth)",
    env: {
      [`${P}0_TYPE`]: "anthropic",
      [`${P}0_KEYS`]: `${k1},${k2}`,
      [`${P}0_BEDROCK_ACCESS_KEY`]: ak,
      [`${P}0_BEDROCK_ACCESS_KEY_SECRET`]: sk
    },
    code: 2,
    names: [`${P}0_KEYS`, `${P}0_BEDROCK_ACCESS_KEY`, "ambiguous"]
  },
  // Name collisions
  {
    title: "indexed provider named like legacy openai by its TYPE",
    env: { [`${L}OPENAI_KEY`]: k1, [`${P}0_TYPE`]: "openai", [`${P}0_KEY`]: k2 },
    code: 4,
    names: [`${L}OPENAI_KEY`, `${P}0_TYPE`, `${P}0_NAME`]
  },
  {
    title: "identical legacy and indexed openai still collide",
    env: { [`${L}OPENAI_KEY`]: k1, [`${P}0_TYPE`]: "openai", [`${P}0_KEY`]: k1 },
    code: 4,
    names: [`${L}OPENAI_KEY`, `${P}0_NAME`]
  },
  {
    title: "indexed NAME anthropic next to legacy Bedrock anthropic",
    env: {
      [`${L}BEDROCK_ACCESS_KEY`]: ak,
      [`${L}BEDROCK_ACCESS_KEY_SECRET`]: sk,
      [`${P}0_TYPE`]: "anthropic",
      [`${P}0_NAME`]: "anthropic",
      [`${P}0_KEY`]: k2
    },
    code: 4,
    names: [`${L}BEDROCK_ACCESS_KEY`, `${P}0_NAME`]
  },
  {
    title: "indexed anthropic provider named openai next to legacy openai",
    env: { [`${L}OPENAI_KEY`]: k1, [`${P}0_TYPE`]: "anthropic", [`${P}0_NAME`]: "openai" },
    code: 4,
    names: [`${L}OPENAI_KEY`, `${P}0_NAME`]
  },
  {
    title: "two indexed providers with one name and different keys",
    env: {
      [`${P}0_TYPE`]: "openai",
      [`${P}0_NAME`]: "gw",
      [`${P}0_KEY`]: k1,
      [`${P}1_TYPE`]: "openai",
      [`${P}1_NAME`]: "gw",
      [`${P}1_KEY`]: k2
    },
    code: 4,
    names: [`${P}0_NAME`, `${P}1_NAME`]
  },
  {
    title: "two indexed providers with one name and different base URLs",
    env: {
      [`${P}0_TYPE`]: "openai",
      [`${P}0_BASE_URL`]: "https://a.example/",
      [`${P}1_TYPE`]: "openai",
      [`${P}1_BASE_URL`]: "https://b.example/"
    },
    code: 4,
    names: [`${P}0_TYPE`, `${P}1_TYPE`, `${P}1_NAME`]
  },
  {
    title: "two indexed providers with one name and different types",
    env: {
      [`${P}0_TYPE`]: "openai",
      [`${P}0_NAME`]: "llm",
      [`${P}1_TYPE`]: "anthropic",
      [`${P}1_NAME`]: "llm",
      [`${P}1_KEY`]: k1
    },
    code: 4,
    names: [`${P}0_NAME`, `${P}1_NAME`]
  },
  {
    title: "two indexed Bedrock providers with one name and different secrets",
    env: {
      [`${P}0_TYPE`]: "anthropic",
      [`${P}0_BEDROCK_ACCESS_KEY`]: ak,
      [`${P}0_BEDROCK_ACCESS_KEY_SECRET`]: sk,
      [`${P}1_TYPE`]: "anthropic",
      [`${P}1_BEDROCK_ACCESS_KEY`]: ak,
      [`${P}1_BEDROCK_ACCESS_KEY_SECRET`]: `${sk}-other`
    },
    code: 4,
    names: [`${P}0_BEDROCK_ACCESS_KEY_SECRET`, `${P}1_NAME`]
  },
  {
    title: "a collision on the third of three same-named providers",
    env: {
      [`${P}0_TYPE`]: "openai",
      [`${P}1_TYPE`]: "openai",
      [`${P}2_TYPE`]: "openai",
      [`${P}2_KEY`]: k2
    },
    code: 4,
    names: [`${P}2_KEY`, `${P}2_NAME`]
  }
]

/** Every secret value in an environment: keys, key list items and Bedrock credentials. */
const secretsOf = (env: Readonly<Record<string, string>>): Array<string> =>
  Object.entries(env)
    .filter(([name]) => /_(KEY|KEYS|ACCESS_KEY|ACCESS_KEY_SECRET)$/.test(name))
    .flatMap(([, value]) => value.split(",").map((item) => item.trim()))
    .filter((item) => item !== "")

describe("malformed environments through `config`", () => {
  it("covers at least 40 distinct environments", () => {
    expect(new Set(cases.map((c) => JSON.stringify(c.env))).size).toBeGreaterThanOrEqual(40)
    expect(new Set(cases.map((c) => c.title)).size).toBe(cases.length)
  })

  for (const format of ["text", "json"] as const) {
    describe(`--format ${format}`, () => {
      it.effect.each(cases)("$title", (c) =>
        Effect.gen(function*() {
          const outcome = yield* runCli(["config", "--format", format], c.env)
          expect(outcome.code).toBe(c.code)
          expect(outcome.stdout).toBe("")
          for (const name of c.names) expect(outcome.stderr).toContain(name)
          expect(outcome.stderr).toContain("Fix:")
          for (const secret of secretsOf(c.env)) expect(outcome.all).not.toContain(secret)
        }))
    })
  }
})
