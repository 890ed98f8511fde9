/**
 * `npm run stress`: N concurrent `ai-provider-seed seed` processes against one fresh database, R rounds,
 * on a mixed environment (legacy OpenAI, legacy Bedrock, indexed providers, an unknown type, and one
 * provider per process so that every process writes). After each round it asserts that every process
 * exited 0 and every provider, key and audit row exists exactly once, and that no canary secret was
 * printed or audited. Prints p50/p95/max of seed time (process wall time) and of lock wait.
 *
 *   npm run stress -- [--processes 16] [--rounds 5] [--database-url postgres://...]
 *
 * Without --database-url it starts an embedded PostgreSQL; with one, it creates a fresh database on
 * that server and drops it afterwards. Loopback only; bounded by --deadline (default 10m).
 * Runs the program as it is installed (bin/ai-provider-seed.cjs, the bundle; `npm run stress` builds it).
 */
import { NodeRuntime } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Option, Redacted } from "effect"
import { spawn } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { pool } from "../src/db/Database.js"
import { scratchDatabase, scratchServer } from "../support/ScratchDatabase.js"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const program = Path.join(root, "bin/ai-provider-seed.cjs")

const argument = (flag: string): Option.Option<string> => {
  const at = process.argv.indexOf(flag)
  return at === -1 ? Option.none() : Option.fromNullable(process.argv[at + 1])
}
const processes = Number(Option.getOrElse(argument("--processes"), () => "16"))
const rounds = Number(Option.getOrElse(argument("--rounds"), () => "5"))
const deadline = Duration.decode(Option.getOrElse(argument("--deadline"), () => "10 minutes") as Duration.DurationInput)

const sharedPerRound = 3
const canary = (name: string) => `sk-canary-stress-${name}-0123456789abcdef`
const accessKey = "AKIACANARYSTRESS0000"
const accessSecret = "canary/stress/bedrock/secret/0123456789"
const canaries = ["sk-canary-stress-", accessKey, accessSecret]

/** Round r's environment for process p: shared providers grow by round; one provider is the process's own. */
const environment = (round: number, process: number): Record<string, string> => {
  const env: Record<string, string> = {
    CODER_AIBRIDGE_OPENAI_KEY: canary("openai"),
    CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: accessKey,
    CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: accessSecret,
    CODER_AIBRIDGE_BEDROCK_REGION: "us-east-1",
    CODER_AIBRIDGE_BEDROCK_MODEL: "anthropic.claude-sonnet"
  }
  const shared = sharedPerRound * round
  for (let i = 0; i < shared; i++) {
    env[`CODER_AIBRIDGE_PROVIDER_${i}_TYPE`] = i % 2 === 0 ? "openai" : "anthropic"
    env[`CODER_AIBRIDGE_PROVIDER_${i}_NAME`] = `shared-${i}`
    env[`CODER_AIBRIDGE_PROVIDER_${i}_KEY`] = canary(`shared-${i}`)
  }
  env[`CODER_AIBRIDGE_PROVIDER_${shared}_TYPE`] = "copilot"
  env[`CODER_AIBRIDGE_PROVIDER_${shared}_KEY`] = canary("copilot")
  env[`CODER_AIBRIDGE_PROVIDER_${shared + 1}_TYPE`] = "openai"
  env[`CODER_AIBRIDGE_PROVIDER_${shared + 1}_NAME`] = `r${round}-p${process}`
  env[`CODER_AIBRIDGE_PROVIDER_${shared + 1}_KEYS`] = `${canary(`r${round}-p${process}-a`)},${
    canary(`r${round}-p${process}-b`)
  }`
  return env
}

/** Every provider after round r, with its number of keys. */
const expectedAfter = (round: number): Map<string, number> => {
  const expected = new Map<string, number>([["openai", 1], ["anthropic", 0]])
  for (let i = 0; i < sharedPerRound * round; i++) expected.set(`shared-${i}`, 1)
  for (let r = 1; r <= round; r++) for (let p = 0; p < processes; p++) expected.set(`r${r}-p${p}`, 2)
  return expected
}

interface Run {
  readonly code: number | null
  readonly wallMs: number
  readonly stdout: string
  readonly stderr: string
}

const run = (env: Record<string, string>, url: string) =>
  Effect.async<Run>((resume) => {
    const started = performance.now()
    const child = spawn(process.execPath, [program, "seed", "--format", "json", "--database-url", url], {
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
    child.once("close", (code) => resume(Effect.succeed({ code, wallMs: performance.now() - started, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

class StressFailure extends Error {}
const check = (ok: boolean, what: string) => ok ? Effect.void : Effect.fail(new StressFailure(what))

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}
const summary = (label: string, values: ReadonlyArray<number>) =>
  `${label.padEnd(16)} p50 ${percentile(values, 50).toFixed(0).padStart(6)} ms   p95 ${
    percentile(values, 95).toFixed(0).padStart(6)
  } ms   max ${Math.max(...values).toFixed(0).padStart(6)} ms`

/** Verifies the database after a round: every provider, key and audit row exactly once. */
const verify = (round: number, insertedBy: Map<string, number>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const expected = expectedAfter(round)
    const providers = yield* sql<{ name: string; keys: string }>`
      select p.name, (select count(*) from ai_provider_keys k where k.provider_id = p.id) as keys
      from ai_providers p`
    yield* check(
      providers.length === expected.size,
      `round ${round}: ${providers.length} providers, expected ${expected.size}`
    )
    for (const row of providers) {
      yield* check(expected.get(row.name) === Number(row.keys), `round ${round}: ${row.name} has ${row.keys} keys`)
    }
    const audit = yield* sql<{ target: string; type: string; n: string }>`
      select resource_target as target, resource_type as type, count(*) as n from audit_logs group by 1, 2`
    const auditRows = new Map(audit.map((row) => [`${row.target}/${row.type}`, Number(row.n)]))
    for (const [name, keys] of expected) {
      yield* check(
        auditRows.get(`${name}/ai_provider`) === 1,
        `round ${round}: ${name} has no single provider audit row`
      )
      yield* check(
        (auditRows.get(`${name}/ai_provider_key`) ?? 0) === keys,
        `round ${round}: ${name} has ${auditRows.get(`${name}/ai_provider_key`) ?? 0} key audit rows, expected ${keys}`
      )
      yield* check(
        insertedBy.get(name) === 1,
        `round ${round}: ${name} was inserted by ${insertedBy.get(name) ?? 0} runs`
      )
    }
    yield* check(
      auditRows.size === expected.size + [...expected.values()].filter((keys) => keys > 0).length,
      `round ${round}: unexpected audit rows`
    )
    const texts = yield* sql<{ row: string }>`select row_to_json(a)::text as row from audit_logs a`
    for (const { row } of texts) {
      for (const secret of canaries) {
        yield* check(!row.includes(secret), `round ${round}: a canary secret in audit_logs`)
      }
    }
  })

const stress = (url: string) =>
  Effect.gen(function*() {
    const seedTimes: Array<number> = []
    const lockWaits: Array<number> = []
    const insertedBy = new Map<string, number>()
    for (let round = 1; round <= rounds; round++) {
      const runs = yield* Effect.forEach(
        Array.from({ length: processes }, (_, p) => p),
        (p) => run(environment(round, p), url),
        { concurrency: "unbounded" }
      )
      for (const [p, result] of runs.entries()) {
        yield* check(
          result.code === 0,
          `round ${round}, process ${p}: exit ${result.code}\n${result.stderr.slice(-2000)}`
        )
        for (const secret of canaries) {
          yield* check(
            !`${result.stdout}${result.stderr}`.includes(secret),
            `round ${round}, process ${p}: a canary printed`
          )
        }
        const report = JSON.parse(result.stdout) as {
          lock_wait_ms: number
          providers: ReadonlyArray<{ name: string; action: string }>
        }
        seedTimes.push(result.wallMs)
        lockWaits.push(report.lock_wait_ms)
        for (const provider of report.providers) {
          if (provider.action === "inserted") insertedBy.set(provider.name, (insertedBy.get(provider.name) ?? 0) + 1)
        }
      }
      yield* verify(round, insertedBy)
      const roundTimes = runs.map((result) => result.wallMs)
      yield* Effect.log(
        `round ${round}/${rounds}: ${processes} processes exited 0; ${
          expectedAfter(round).size
        } providers, each once; ${summary("seed time", roundTimes).trim()}`
      )
    }
    return { seedTimes, lockWaits }
  })

const main = Effect.gen(function*() {
  const adminUrl = yield* scratchServer(argument("--database-url"))
  const host = new URL(Redacted.value(adminUrl)).hostname
  yield* check(["127.0.0.1", "localhost", "::1", "[::1]"].includes(host), `loopback only, not ${host}`)
  const url = Redacted.value((yield* scratchDatabase(adminUrl, "stress")).url)
  yield* Effect.log(`stress: ${processes} concurrent seed processes x ${rounds} rounds on ${host}`)
  const started = performance.now()
  const { lockWaits, seedTimes } = yield* stress(url).pipe(
    Effect.provide(pool(Redacted.make(url), { maxConnections: 2 }))
  )
  console.log(
    `\nstress passed: ${processes} processes x ${rounds} rounds in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`
  )
  console.log(summary("seed time", seedTimes))
  console.log(summary("lock wait", lockWaits))
}).pipe(
  Effect.scoped,
  Effect.timeoutFail({
    duration: deadline,
    onTimeout: () => new StressFailure(`not done within ${Duration.format(deadline)}`)
  })
)

NodeRuntime.runMain(main)
