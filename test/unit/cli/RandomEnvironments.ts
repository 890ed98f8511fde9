/** Random provider environments for property tests; every secret is distinctive so a leak is detectable. */
import { FastCheck as fc } from "effect"

export const secret = fc.stringMatching(/^[A-Za-z0-9]{12,24}$/).map((s) => `sk-${s}`)

const optional = <A>(arbitrary: fc.Arbitrary<A>) => fc.option(arbitrary, { nil: undefined, freq: 2 })

/** Usually unset. */
const rare = <A>(arbitrary: fc.Arbitrary<A>) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary })

/** Mostly valid combinations, with the malformed ones (both bearer forms, half credentials) rarer. */
const weighted = <A>(...arbitraries: ReadonlyArray<readonly [number, fc.Arbitrary<A>]>) =>
  fc.oneof(...arbitraries.map(([weight, arbitrary]) => ({ weight, arbitrary })))

const bearer = (key: string, keys: string) =>
  weighted<Record<string, string>>(
    [4, fc.constant({})],
    [4, secret.map((value) => ({ [key]: value }))],
    [2, fc.array(secret, { minLength: 1, maxLength: 6 }).map((values) => ({ [keys]: values.join(", ") }))],
    [1, fc.tuple(secret, secret).map(([a, b]) => ({ [key]: a, [keys]: b }))]
  )

const credentials = (accessKey: string, secretKey: string) =>
  weighted<Record<string, string>>(
    [6, fc.constant({})],
    [3, fc.tuple(secret, secret).map(([a, b]) => ({ [accessKey]: a, [secretKey]: b }))],
    [1, secret.map((value) => ({ [accessKey]: value }))],
    [1, secret.map((value) => ({ [secretKey]: value }))]
  )

const indexedEntry = fc.tuple(
  fc.record({
    TYPE: weighted<string | undefined>(
      [8, fc.constantFrom("openai", "anthropic")],
      [1, fc.constantFrom("copilot", "OpenAI", "")],
      [1, fc.constant(undefined)]
    ),
    NAME: optional(fc.constantFrom("openai", "anthropic", "a", "b", "gw-1", "Bad Name", "-x", "")),
    BASE_URL: optional(fc.constantFrom("https://a.example/", "https://b.example/")),
    BEDROCK_REGION: rare(fc.constantFrom("us-east-1", "eu-west-1")),
    BEDROCK_MODEL: rare(fc.constant("claude")),
    TYPO: weighted<string | undefined>([9, fc.constant(undefined)], [1, fc.constant("x")])
  }),
  weighted<Record<string, string>>([3, bearer("KEY", "KEYS")], [
    1,
    credentials("BEDROCK_ACCESS_KEY", "BEDROCK_ACCESS_KEY_SECRET")
  ])
).map(([fields, auth]) => ({ ...fields, ...auth }))

const legacy = fc.tuple(
  fc.record({
    CODER_AIBRIDGE_OPENAI_KEY: optional(secret),
    CODER_AIBRIDGE_OPENAI_BASE_URL: optional(fc.constant("https://proxy.example/v1/")),
    CODER_AIBRIDGE_BEDROCK_REGION: optional(fc.constant("us-west-2"))
  }),
  weighted<Record<string, string>>(
    [3, fc.constant({})],
    [2, secret.map((value) => ({ CODER_AIBRIDGE_ANTHROPIC_KEY: value }))],
    [2, credentials("CODER_AIBRIDGE_BEDROCK_ACCESS_KEY", "CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET")],
    [
      1,
      fc.tuple(secret, secret, secret).map(([key, a, b]) => ({
        CODER_AIBRIDGE_ANTHROPIC_KEY: key,
        CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: a,
        CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: b
      }))
    ]
  )
).map(([fields, anthropic]) => ({ ...fields, ...anthropic }))

/** How indices are laid out: mostly contiguous, sometimes with a gap or a non-numeric index. */
const layout = weighted<string>([8, fc.constant("contiguous")], [1, fc.constant("gap")], [
  1,
  fc.constant("non-numeric")
])

const defined = (record: Record<string, string | undefined>): Array<[string, string]> =>
  Object.entries(record).flatMap(([name, value]) => value === undefined ? [] : [[name, value]])

export const environment = fc.tuple(legacy, fc.array(indexedEntry, { maxLength: 4 }), layout).map(
  ([legacyVariables, entries, indices]) => {
    const env: Record<string, string> = Object.fromEntries(defined(legacyVariables))
    entries.forEach((entry, i) => {
      const index = indices === "gap" ? i + 1 : indices === "non-numeric" && i === entries.length - 1 ? "X" : i
      for (const [field, value] of defined(entry)) env[`CODER_AIBRIDGE_PROVIDER_${index}_${field}`] = value
    })
    return env
  }
)

/** The secrets of an environment: keys, list items and Bedrock credentials. */
export const secretsOf = (env: Readonly<Record<string, string>>): Array<string> =>
  Object.entries(env)
    .filter(([name]) => /_(KEY|KEYS|ACCESS_KEY|ACCESS_KEY_SECRET)$/.test(name))
    .flatMap(([, value]) => value.split(",").map((item) => item.trim()))
    .filter((item) => item !== "")
