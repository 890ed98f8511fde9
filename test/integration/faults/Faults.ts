/** Helpers for the fault tests: large environments in env files, row counts, and polling the server. */
import { SqlClient } from "@effect/sql"
import { expect } from "@effect/vitest"
import { Duration, Effect, Redacted, Schedule } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import Pg from "pg"
import { expectNoSecrets } from "../../support/Seeding.js"

/** Every key is a canary: distinct, long enough for the scan, and never expected in any output. */
export const canaryPrefix = (run: string) => `sk-canary-${run}-`
export const canaryKey = (run: string, index: number) => `${canaryPrefix(run)}${index}-0123456789abcdef`

/**
 * An env file with `count` indexed OpenAI providers (one key each), a legacy Bedrock provider
 * (credentials are canaries too) and a provider of an unknown type; removed with the scope, whether the
 * test passes or fails.
 */
export const largeEnvFile = (run: string, count: number) =>
  Effect.flatMap(
    Effect.acquireRelease(
      Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "ai-provider-seed-faults-"))),
      (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
    ),
    (dir) => Effect.promise(() => write(dir, run, count))
  )

const write = async (dir: string, run: string, count: number) => {
  const lines = Array.from({ length: count }, (_, i) =>
    [
      `CODER_AIBRIDGE_PROVIDER_${i}_TYPE=openai`,
      `CODER_AIBRIDGE_PROVIDER_${i}_NAME=${run}-${i}`,
      `CODER_AIBRIDGE_PROVIDER_${i}_KEY=${canaryKey(run, i)}`
    ].join("\n"))
  const secrets = [`AKIA${run.toUpperCase().padEnd(16, "X")}`, `canary/${run}/bedrock/secret/0123456789`]
  lines.push(
    `CODER_AIBRIDGE_PROVIDER_${count}_TYPE=copilot`,
    `CODER_AIBRIDGE_PROVIDER_${count}_KEY=${canaryKey(run, count)}`,
    `CODER_AIBRIDGE_BEDROCK_ACCESS_KEY=${secrets[0]}`,
    `CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET=${secrets[1]}`,
    "CODER_AIBRIDGE_BEDROCK_REGION=eu-west-1"
  )
  const path = Path.join(dir, "providers.env")
  await Fs.writeFile(path, lines.join("\n") + "\n")
  return {
    path,
    /** Providers a complete run stores: the indexed ones and legacy `anthropic` (Bedrock). */
    providers: count + 1,
    /** Every key starts with this prefix, so finding none of it is a stronger (and cheaper) check. */
    secrets: [...secrets, canaryPrefix(run)]
  }
}

export interface Counts {
  readonly providers: number
  readonly keys: number
  readonly audit: number
  /** Distinct `request_id`s in `audit_logs`: one per committed run. */
  readonly runs: number
}

export const counts = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const exists = yield* sql<{ table: string | null }>`select to_regclass('audit_logs')::text as table`
  if (exists[0]?.table === null) return { providers: 0, keys: 0, audit: 0, runs: 0 } satisfies Counts
  const [row] = yield* sql<{ providers: string; keys: string; audit: string; runs: string }>`
    select (select count(*) from ai_providers) as providers, (select count(*) from ai_provider_keys) as keys,
      (select count(*) from audit_logs) as audit, (select count(distinct request_id) from audit_logs) as runs`
  return {
    providers: Number(row?.providers),
    keys: Number(row?.keys),
    audit: Number(row?.audit),
    runs: Number(row?.runs)
  } satisfies Counts
})

/** A complete run of `largeEnvFile(_, count)`: every row once, by one run; keys are the indexed ones. */
export const complete = (count: number): Counts => ({
  providers: count + 1,
  keys: count,
  audit: 2 * count + 1,
  runs: 1
})
export const none: Counts = { providers: 0, keys: 0, audit: 0, runs: 0 }

/** Whether a seed session of this database holds the seed lock (advisory lock 10) right now. */
export const seedLockHeld = (database: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ held: boolean }>`
      select exists(
        select 1 from pg_locks l join pg_database d on d.oid = l.database
        where l.locktype = 'advisory' and l.granted and l.objid = 10 and l.objsubid = 1 and d.datname = ${database}
      ) as held`).pipe(Effect.map((rows) => rows[0]?.held === true))

/**
 * A session of its own that runs `statement` in a transaction it keeps open until the scope closes. Its
 * errors after a server stop are expected and ignored.
 */
export const sessionHolding = (url: Redacted.Redacted<string>, statement: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Pg.Client({ connectionString: Redacted.value(url) })
      client.on("error", () => {})
      await client.connect()
      await client.query("begin")
      await client.query(statement)
      return client
    }),
    (client) =>
      Effect.promise(() =>
        client.query("rollback").catch(() => undefined).then(() => client.end().catch(() => undefined))
      )
  )

/**
 * SHARE locks on the seed's tables: a seed then takes the seed lock and waits at its first write, inside
 * its transaction, for as long as the test needs (an explicit state, not a moment to catch).
 */
export const blockSeedWrites = (url: Redacted.Redacted<string>) =>
  sessionHolding(url, "lock table ai_providers, ai_provider_keys, audit_logs in share mode")

/** Whether a seed of this database holds the seed lock and waits for a table lock (see `blockSeedWrites`). */
export const seedBlockedInside = (database: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ blocked: boolean }>`
      select exists(
        select 1 from pg_locks l join pg_database d on d.oid = l.database
        where l.locktype = 'advisory' and l.granted and l.objid = 10 and l.objsubid = 1 and d.datname = ${database}
      ) and exists(
        select 1 from pg_locks l join pg_database d on d.oid = l.database
        where l.locktype = 'relation' and not l.granted and d.datname = ${database}
      ) as blocked`).pipe(Effect.map((rows) => rows[0]?.blocked === true))

/** Polls `check` every 20 ms until it holds, for at most `limit`; fails the test when it never does. */
export const waitUntil = <E, R>(what: string, check: Effect.Effect<boolean, E, R>, limit: Duration.DurationInput) =>
  check.pipe(
    Effect.filterOrFail((ok) => ok, () => "not yet"),
    Effect.retry({ schedule: Schedule.spaced(Duration.millis(20)), until: () => false }),
    Effect.timeoutFail({ duration: limit, onTimeout: () => new Error(`timed out waiting until ${what}`) }),
    Effect.orDie
  )

/** The output of a run and the audit rows hold no plaintext canary. */
export const expectNoCanaries = (texts: ReadonlyArray<string>, secrets: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const exists = yield* sql<{ table: string | null }>`select to_regclass('audit_logs')::text as table`
    const audit = exists[0]?.table === null
      ? []
      : yield* sql<{ row: string }>`select row_to_json(a)::text as row from audit_logs a`
    expectNoSecrets([...texts, ...audit.map((row) => row.row)], secrets)
  })

export const expectAllOrNone = (actual: Counts, count: number, context: string) =>
  expect([complete(count), none], `${context}: the database holds a part of a run`).toContainEqual(actual)
