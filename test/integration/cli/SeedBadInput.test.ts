/**
 * The bad-input corpus through `seed` against a real database (issue 6): malformed and hostile
 * environments, each with canary secrets. A malformed one must exit with the right code, name the
 * variables on stderr and in the JSON report, and write nothing; a hostile but valid one must store
 * its values byte for byte. Nothing may print or audit a canary in plaintext.
 * (test/unit/cli/MalformedEnvironments.test.ts covers the `config` command without a database.)
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { runCli } from "../../support/runCli.js"
import { expectNoSecrets, secretsOf, snapshot } from "../../support/Seeding.js"
import * as TestDatabase from "../../support/TestDatabase.js"

type Environment = Readonly<Record<string, string>>

interface Case {
  readonly title: string
  readonly env: Environment
  readonly code: 2 | 4 | 6
  /** The error's `_tag` in the JSON report. */
  readonly tag: "InvalidConfiguration" | "IndexedNameCollision" | "DatabaseError"
  /** What stderr must name: the variables (or, for a database failure, what failed). */
  readonly names: ReadonlyArray<string>
}

const P = "CODER_AIBRIDGE_PROVIDER_"
const L = "CODER_AIBRIDGE_"
// Canaries: long enough for the scan, distinct, and never expected in any output.
const c1 = "sk-canary-bad-input-11111111aaaaaaaa"
const c2 = "sk-canary-bad-input-22222222bbbbbbbb"
const c3 = "sk-canary-bad-input-33333333cccccccc"
const ak = "AKIACANARYBADINPUT00"
const sk = "canary/bad/input/bedrock/secret/0000111122223333"
const sqlKey = "sk-canary-'); delete from ai_provider_keys; --"
const unicodeKey = "sk-canary-🤖-κλειδί-鍵-\u202Eevil"

const openai = (index: number, extra: Environment = {}): Environment => ({
  [`${P}${index}_TYPE`]: "openai",
  [`${P}${index}_KEY`]: `${c1}-${index}`,
  ...extra
})
const named = (index: number, name: string, extra: Environment = {}): Environment =>
  openai(index, { [`${P}${index}_NAME`]: name, ...extra })
const invalidName = (title: string, name: string): Case => ({
  title: `NAME ${title}`,
  env: named(0, name),
  code: 2,
  tag: "InvalidConfiguration",
  names: [`${P}0_NAME`]
})
const invalidIndex = (title: string, index: string): Case => ({
  title: `index ${title}`,
  env: { ...openai(0), [`${P}${index}_TYPE`]: "openai", [`${P}${index}_KEY`]: c2 },
  code: 2,
  tag: "InvalidConfiguration",
  names: [`${P}${index}_`]
})
const keyList = (title: string, keys: string, extra: Environment = {}): Case => ({
  title: `KEYS ${title}`,
  env: { [`${P}0_TYPE`]: "openai", [`${P}0_KEYS`]: keys, ...extra },
  code: 2,
  tag: "InvalidConfiguration",
  names: [`${P}0_KEYS`]
})
const manyValid = (count: number): Environment =>
  Object.assign({}, ...Array.from({ length: count }, (_, i) => named(i, `valid-${i}`)))

/** Pseudo-random letters and digits: PostgreSQL cannot compress them below its index row limit. */
const incompressibleName = (length: number) => {
  let state = 20_260_101
  return Array.from({ length }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
    return "abcdefghijklmnopqrstuvwxyz0123456789"[state % 36]
  }).join("")
}

const collision = (title: string, env: Environment, names: ReadonlyArray<string>): Case => ({
  title: `collision: ${title}`,
  env,
  code: 4,
  tag: "IndexedNameCollision",
  names
})
const bedrock = (title: string, env: Environment, names: ReadonlyArray<string>): Case => ({
  title: `Bedrock: ${title}`,
  env,
  code: 2,
  tag: "InvalidConfiguration",
  names
})

const cases: ReadonlyArray<Case> = [
  // Gaps and index grammar
  {
    title: "gap at index 2",
    env: { ...openai(0), ...openai(1), ...openai(3) },
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}2_TYPE`]
  },
  { title: "only index 5", env: openai(5), code: 2, tag: "InvalidConfiguration", names: [`${P}0_TYPE`] },
  {
    title: "indices 0 and 100",
    env: { ...openai(0), ...openai(100) },
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}1_TYPE`]
  },
  {
    title: "an index past 2^64",
    env: { ...openai(0), [`${P}99999999999999999999_TYPE`]: "openai", [`${P}99999999999999999999_KEY`]: c2 },
    code: 2,
    tag: "InvalidConfiguration",
    // The variable with the index, not the gap it leaves (the index would not fit a number exactly).
    names: [`${P}99999999999999999999_KEY`]
  },
  {
    title: "gap after 50 valid providers",
    env: { ...manyValid(50), ...openai(51) },
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}50_TYPE`]
  },
  invalidIndex("spelled out", "ONE"),
  invalidIndex("in hex", "0x1"),
  invalidIndex("with a plus sign", "+1"),
  invalidIndex("with a leading space", " 1"),
  invalidIndex("in Arabic-Indic digits", "١"),
  invalidIndex("in fullwidth digits", "０"),
  invalidIndex("with a fraction sign", "½"),
  invalidIndex("00", "00"),
  invalidIndex("with SQL", "0;DROP"),
  // TYPE and NAME
  {
    title: "KEY without TYPE",
    env: { [`${P}0_KEY`]: c1 },
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}0_TYPE`]
  },
  {
    title: "NAME without TYPE",
    env: { [`${P}0_NAME`]: "lonely", [`${P}0_KEY`]: c1 },
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}0_TYPE`]
  },
  {
    title: "TYPE without a default-able name",
    env: { [`${P}0_TYPE`]: "OpenAI", [`${P}0_KEY`]: c1 },
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}0_TYPE`]
  },
  {
    title: "TYPE with SQL",
    env: { [`${P}0_TYPE`]: "openai'--", [`${P}0_KEY`]: c1 },
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}0_TYPE`]
  },
  {
    title: "TYPE with an accent",
    env: { [`${P}0_TYPE`]: "ópenai", [`${P}0_KEY`]: c1 },
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}0_TYPE`]
  },
  invalidName("in capitals", "OpenAI"),
  invalidName("with an underscore", "my_provider"),
  invalidName("with a trailing hyphen", "eu-"),
  invalidName("with a leading hyphen", "-eu"),
  invalidName("with a double hyphen", "open--ai"),
  invalidName("with a space", "open ai"),
  invalidName("with an accent", "café"),
  invalidName("that is an emoji", "🤖"),
  invalidName("with SQL", "x'); drop table ai_providers; --"),
  invalidName("in double quotes", "\"quoted\""),
  invalidName("with a newline", "open\nai"),
  invalidName("with a NUL", "open\u0000ai"),
  invalidName("with a dot", "open.ai"),
  invalidName("with a path", "../../etc/passwd"),
  invalidName("with a Cyrillic homoglyph", "оpenai"),
  invalidName("with a zero-width space", "open\u200Bai"),
  invalidName("with a right-to-left override", "open\u202Eai"),
  invalidName("of 100,000 characters ending badly", `${"a".repeat(100_000)}_`),
  invalidName("that is a JSON object", "{\"_type\":\"bedrock\"}"),
  // Key lists
  keyList("with six keys", [c1, c2, c3, `${c1}-4`, `${c1}-5`, `${c1}-6`].join(",")),
  keyList("with fifty keys", Array.from({ length: 50 }, (_, i) => `${c2}-${i}`).join(",")),
  keyList("with a duplicate unicode key", `${unicodeKey},${c1},${unicodeKey}`),
  keyList("with a duplicate after trimming", `  ${c1} ,${c1}`),
  keyList("of commas only", ",,,", openai(1)),
  keyList("of blanks only", "   ", openai(1)),
  keyList("with a trailing comma after a huge key", `${c1}${"x".repeat(100_000)},`),
  keyList("with an SQL key and an empty item", `${sqlKey},,${c2}`),
  {
    title: "KEY together with KEYS",
    env: { [`${P}0_TYPE`]: "openai", [`${P}0_KEY`]: sqlKey, [`${P}0_KEYS`]: `${c1},${c2}` },
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}0_KEY`, `${P}0_KEYS`]
  },
  // Bedrock: half credentials, ambiguous auth, Bedrock on openai
  bedrock("indexed access key only, with region and model", {
    [`${P}0_TYPE`]: "anthropic",
    [`${P}0_BEDROCK_ACCESS_KEY`]: ak,
    [`${P}0_BEDROCK_REGION`]: "us-east-1",
    [`${P}0_BEDROCK_MODEL`]: "claude"
  }, [`${P}0_BEDROCK_ACCESS_KEY`, `${P}0_BEDROCK_ACCESS_KEY_SECRET`]),
  bedrock("indexed secret only", { [`${P}0_TYPE`]: "anthropic", [`${P}0_BEDROCK_ACCESS_KEY_SECRET`]: sk }, [
    `${P}0_BEDROCK_ACCESS_KEY`,
    `${P}0_BEDROCK_ACCESS_KEY_SECRET`
  ]),
  bedrock("indexed secret with SQL, access key missing", {
    [`${P}0_TYPE`]: "anthropic",
    [`${P}0_BEDROCK_ACCESS_KEY_SECRET`]: `${sk}'); --`
  }, [`${P}0_BEDROCK_ACCESS_KEY`]),
  bedrock("credentials on openai", {
    [`${P}0_TYPE`]: "openai",
    [`${P}0_BEDROCK_ACCESS_KEY`]: ak,
    [`${P}0_BEDROCK_ACCESS_KEY_SECRET`]: sk
  }, [`${P}0_BEDROCK_ACCESS_KEY`, `${P}0_BEDROCK_ACCESS_KEY_SECRET`]),
  bedrock("base URL on openai", { ...openai(0), [`${P}0_BEDROCK_BASE_URL`]: "https://bedrock.test" }, [
    `${P}0_BEDROCK_BASE_URL`
  ]),
  bedrock("indexed KEY with credentials (ambiguous auth)", {
    [`${P}0_TYPE`]: "anthropic",
    [`${P}0_KEY`]: c1,
    [`${P}0_BEDROCK_ACCESS_KEY`]: ak,
    [`${P}0_BEDROCK_ACCESS_KEY_SECRET`]: sk
  }, [`${P}0_KEY`, `${P}0_BEDROCK_ACCESS_KEY`]),
  bedrock("indexed KEYS with credentials (ambiguous auth)", {
    [`${P}0_TYPE`]: "anthropic",
    [`${P}0_KEYS`]: `${c1},${c2}`,
    [`${P}0_BEDROCK_ACCESS_KEY`]: ak,
    [`${P}0_BEDROCK_ACCESS_KEY_SECRET`]: sk
  }, [`${P}0_KEYS`, `${P}0_BEDROCK_ACCESS_KEY`]),
  bedrock("legacy access key only, with region and model", {
    [`${L}OPENAI_KEY`]: c1,
    [`${L}BEDROCK_ACCESS_KEY`]: ak,
    [`${L}BEDROCK_REGION`]: "eu-west-1",
    [`${L}BEDROCK_MODEL`]: "claude"
  }, [`${L}BEDROCK_ACCESS_KEY`, `${L}BEDROCK_ACCESS_KEY_SECRET`]),
  bedrock("legacy secret only, with a base URL", {
    [`${L}BEDROCK_ACCESS_KEY_SECRET`]: sk,
    [`${L}BEDROCK_BASE_URL`]: "https://vpc.bedrock.test"
  }, [`${L}BEDROCK_ACCESS_KEY`, `${L}BEDROCK_ACCESS_KEY_SECRET`]),
  bedrock("legacy anthropic key with credentials (ambiguous auth)", {
    [`${L}ANTHROPIC_KEY`]: c1,
    [`${L}BEDROCK_ACCESS_KEY`]: ak,
    [`${L}BEDROCK_ACCESS_KEY_SECRET`]: sk
  }, [`${L}ANTHROPIC_KEY`, `${L}BEDROCK_ACCESS_KEY`]),
  bedrock("legacy anthropic key with the access key only", {
    [`${L}ANTHROPIC_KEY`]: c1,
    [`${L}BEDROCK_ACCESS_KEY`]: ak
  }, [`${L}BEDROCK_ACCESS_KEY_SECRET`]),
  // Name collisions
  collision("indexed NAME openai next to legacy openai", { [`${L}OPENAI_KEY`]: c1, ...named(0, "openai") }, [
    `${L}OPENAI_KEY`,
    `${P}0_NAME`
  ]),
  collision("indexed TYPE openai (default name) next to legacy openai", { [`${L}OPENAI_KEY`]: c1, ...openai(0) }, [
    `${L}OPENAI_KEY`,
    `${P}0_TYPE`
  ]),
  collision("indexed NAME anthropic next to legacy Bedrock anthropic", {
    [`${L}BEDROCK_ACCESS_KEY`]: ak,
    [`${L}BEDROCK_ACCESS_KEY_SECRET`]: sk,
    ...named(0, "anthropic")
  }, [`${L}BEDROCK_ACCESS_KEY`, `${P}0_NAME`]),
  collision("two indexed providers with one name and different keys", { ...named(0, "eu"), ...named(1, "eu") }, [
    `${P}0_NAME`,
    `${P}1_NAME`
  ]),
  collision("one name, different base URLs with SQL", {
    ...named(0, "eu"),
    ...named(1, "eu", { [`${P}1_KEY`]: `${c1}-0`, [`${P}1_BASE_URL`]: "https://x.test/'; drop table audit_logs; --" })
  }, [`${P}0_NAME`, `${P}1_BASE_URL`]),
  collision("one name, different Bedrock regions", {
    [`${P}0_TYPE`]: "anthropic",
    [`${P}0_NAME`]: "claude",
    [`${P}0_BEDROCK_ACCESS_KEY`]: ak,
    [`${P}0_BEDROCK_ACCESS_KEY_SECRET`]: sk,
    [`${P}0_BEDROCK_REGION`]: "us-east-1",
    [`${P}1_TYPE`]: "anthropic",
    [`${P}1_NAME`]: "claude",
    [`${P}1_BEDROCK_ACCESS_KEY`]: ak,
    [`${P}1_BEDROCK_ACCESS_KEY_SECRET`]: sk,
    [`${P}1_BEDROCK_REGION`]: "eu-central-1"
  }, [`${P}0_NAME`, `${P}1_NAME`]),
  collision("two anthropic providers named by TYPE with different keys", {
    [`${P}0_TYPE`]: "anthropic",
    [`${P}0_KEY`]: c1,
    [`${P}1_TYPE`]: "anthropic",
    [`${P}1_KEY`]: c2
  }, [`${P}0_TYPE`, `${P}1_TYPE`]),
  collision("the 1,000th provider reuses the first one's name", {
    ...manyValid(999),
    ...named(999, "valid-0", { [`${P}999_KEY`]: c3 })
  }, [`${P}0_NAME`, `${P}999_NAME`]),
  // One bad provider after many good ones: still nothing written
  {
    title: "an invalid name after 1,000 valid providers",
    env: { ...manyValid(1000), ...named(1000, "Bad_Name") },
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}1000_NAME`]
  },
  {
    title: "valid legacy providers and a six-key list",
    env: {
      [`${L}OPENAI_KEY`]: c1,
      [`${L}ANTHROPIC_KEY`]: c2,
      [`${P}0_TYPE`]: "openai",
      [`${P}0_NAME`]: "six",
      [`${P}0_KEYS`]: Array.from({ length: 6 }, (_, i) => `${c3}-${i}`).join(",")
    },
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}0_KEYS`]
  },
  // Found by this corpus: without a length limit, a name too long for PostgreSQL's unique index failed
  // late, at the insert (exit 6). The name rule now bounds it.
  {
    title: "a name of 10,000 incompressible characters",
    env: named(0, incompressibleName(10_000)),
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}0_NAME`]
  },
  {
    title: "a name of 64 characters, one more than the limit",
    env: named(0, "a".repeat(64)),
    code: 2,
    tag: "InvalidConfiguration",
    names: [`${P}0_NAME`]
  }
]

interface Hostile {
  readonly title: string
  readonly env: Environment
}

/** Hostile but valid: must be stored exactly as given (and still never printed). */
const hostile: ReadonlyArray<Hostile> = [
  { title: "SQL and quotes in a key", env: named(0, "sql-key", { [`${P}0_KEY`]: sqlKey }) },
  { title: "unicode, RTL override and emoji in a key", env: named(0, "unicode-key", { [`${P}0_KEY`]: unicodeKey }) },
  { title: "a 100,000-character key", env: named(0, "huge-key", { [`${P}0_KEY`]: `${c2}${"k".repeat(100_000)}` }) },
  {
    title: "SQL, quotes and backslashes in a base URL",
    env: named(0, "sql-url", { [`${P}0_BASE_URL`]: "https://x.test/'\";\\--$$ drop table ai_providers $$" })
  },
  {
    title: "a 200,000-character base URL",
    env: named(0, "huge-url", { [`${P}0_BASE_URL`]: `https://${"u".repeat(200_000)}` })
  },
  {
    title: "JSON and SQL in Bedrock settings",
    env: {
      [`${P}0_TYPE`]: "anthropic",
      [`${P}0_NAME`]: "json-bedrock",
      [`${P}0_BEDROCK_ACCESS_KEY`]: ak,
      [`${P}0_BEDROCK_ACCESS_KEY_SECRET`]: `${sk}\"},\"_type\":\"x`,
      [`${P}0_BEDROCK_REGION`]: "{\"_type\":\"not-bedrock\"}'); --",
      [`${P}0_BEDROCK_MODEL`]: "モデル"
    }
  },
  {
    title: "five unicode keys",
    env: {
      [`${P}0_TYPE`]: "openai",
      [`${P}0_NAME`]: "five-keys",
      [`${P}0_KEYS`]: [1, 2, 3, 4, 5].map((i) => `${unicodeKey}-${i}`).join(" , ")
    }
  }
]

const seedJson = (env: Environment) =>
  Effect.flatMap(
    TestDatabase.TestDatabase,
    ({ url }) => runCli(["seed", "--format", "json", "--database-url", Redacted.value(url)], env)
  )

const auditTexts = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ row: string }>`select row_to_json(a)::text as row from audit_logs a`
).pipe(Effect.map((rows) => rows.map((row) => row.row)))

const expectEmpty = Effect.gen(function*() {
  const state = yield* snapshot
  expect([state.providers.length, state.keys.length, state.audit.length], "rows written").toEqual([0, 0, 0])
})

layer(TestDatabase.layer(), { excludeTestServices: true })("bad input through `seed` (real database)", (it) => {
  it("has at least 60 distinct malformed environments, each with a canary secret", () => {
    expect(new Set(cases.map((c) => JSON.stringify(c.env))).size).toBeGreaterThanOrEqual(60)
    expect(new Set(cases.map((c) => c.title)).size).toBe(cases.length)
    for (const c of [...cases, ...hostile]) expect(secretsOf(c.env), c.title).not.toEqual([])
  })

  it.effect.each(cases)("$title: exit $code, names the variables, writes nothing", (c) =>
    Effect.gen(function*() {
      const outcome = yield* seedJson(c.env)
      expect(outcome.code).toBe(c.code)
      for (const name of c.names) expect(outcome.stderr).toContain(name)
      const report = JSON.parse(outcome.stdout)
      expect(report.outcome).toBe("failed")
      expect(report.error._tag).toBe(c.tag)
      yield* expectEmpty
      expectNoSecrets([outcome.all, ...(yield* auditTexts)], secretsOf(c.env))
    }))

  it.effect.each(hostile)("hostile but valid, $title: stored exactly, never printed", (c) =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`truncate ai_providers, ai_provider_keys, audit_logs`
      const outcome = yield* seedJson(c.env)
      expect(outcome.code, outcome.stderr).toBe(0)
      expect(JSON.parse(outcome.stdout).counts.inserted).toBe(1)
      const state = yield* snapshot
      const name = c.env[`${P}0_NAME`]
      expect(state.providers.map((p) => p.name)).toEqual([name])
      const keyList = c.env[`${P}0_KEYS`]?.split(",").map((key) => key.trim()) ??
        (c.env[`${P}0_KEY`] === undefined ? [] : [c.env[`${P}0_KEY`]])
      expect(state.keys.map((k) => k.api_key).sort()).toEqual([...keyList].sort())
      const baseUrl = c.env[`${P}0_BASE_URL`]
      if (baseUrl !== undefined) expect(state.providers[0]?.base_url).toBe(baseUrl)
      const settings = state.providers[0]?.settings as Record<string, string> | null
      if (c.env[`${P}0_BEDROCK_REGION`] !== undefined) {
        expect(settings?.["region"]).toBe(c.env[`${P}0_BEDROCK_REGION`])
        expect(settings?.["access_key_secret"]).toBe(c.env[`${P}0_BEDROCK_ACCESS_KEY_SECRET`])
      }
      expectNoSecrets([outcome.all, ...(yield* auditTexts)], secretsOf(c.env))
    }))

  it.effect("a NUL in a key is invalid configuration naming the variable, with encryption on or off (PostgreSQL's text cannot hold it); nothing written, nothing leaked", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`truncate ai_providers, ai_provider_keys, audit_logs`
      const key = `${c3}\u0000tail`
      const env = named(0, "nul-key", { [`${P}0_KEY`]: key })
      const outcome = yield* seedJson(env)
      expect(outcome.code, outcome.stderr).toBe(2)
      expect(outcome.stderr).toContain(`${P}0_KEY`)
      expect(outcome.stderr).toContain("NUL character")
      yield* expectEmpty
      expectNoSecrets([outcome.all, ...(yield* auditTexts)], [c3, ...secretsOf(env)])
    }))
})
