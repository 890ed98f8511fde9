/**
 * Bounded waits against a real server (issue 10, items 6 to 9): the seed's transaction sets its own
 * timeouts whatever the database's defaults are, `--lock-timeout` bounds the wait for every lock, and a
 * backend that stops mid-transaction ends the run with exit 6 naming the step instead of a hang. Every
 * state a test needs (a waiter in pg_locks, a wait older than the default timeout, a blocked statement)
 * is waited for explicitly.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Clock, Context, Effect, Fiber, Layer, Redacted } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { pool } from "../../../src/db/Database.js"
import { migrationsLock } from "../../../src/db/Migrations.js"
import { scratchDatabase } from "../../../support/ScratchDatabase.js"
import { runCli } from "../../support/runCli.js"
import { resetDatabase } from "../../support/Seeding.js"
import { holdAdvisoryLockElsewhere, holdSeedLockElsewhere } from "../../support/SeedLockHolder.js"
import { awaitRow, stopBackend } from "../../support/ServerState.js"
import * as TestDatabase from "../../support/TestDatabase.js"

const env = { CODER_AIBRIDGE_OPENAI_KEY: "sk-bounded-canary-0000111122223333" }

const seedCli = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
  Effect.flatMap(
    TestDatabase.TestDatabase,
    ({ url }) => runCli(["seed", "--format", "json", ...args], { ...env, ...extra, DATABASE_URL: Redacted.value(url) })
  )

/** A database setting for this file's database, reset when the scope closes. */
const databaseDefault = (setting: string, value: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { name } = yield* TestDatabase.TestDatabase
    yield* Effect.acquireRelease(
      sql.unsafe(`alter database ${name} set ${setting} = '${value}'`),
      () => sql.unsafe(`alter database ${name} reset ${setting}`).pipe(Effect.orDie)
    )
  })

const elapsedSince = (started: number) => Effect.map(Clock.currentTimeMillis, (now) => now - started)

layer(TestDatabase.layer(), { excludeTestServices: true })("bounded waits against a real server", (it) => {
  it.scoped(
    "a database default statement_timeout of 2 s does not end a longer wait for the seed lock (10.6)",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        yield* databaseDefault("statement_timeout", "2s")
        const holder = yield* holdSeedLockElsewhere
        const run = yield* Effect.fork(seedCli(["--lock-timeout", "60s"]))
        // The state that failed before: the seed has waited for the lock longer than the database's default.
        yield* awaitRow("the seed waiting for lock 10 for more than 3 s", (sql) =>
          sql`select a.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.locktype = 'advisory' and l.objid = 10 and not l.granted and a.datname = current_database()
            and a.application_name = 'ai-provider-seed' and now() - a.query_start > interval '3 seconds'`)
        yield* holder.release
        const outcome = yield* Fiber.join(run)
        expect(outcome.code, outcome.all).toBe(0)
        expect(JSON.parse(outcome.stdout).providers[0].action).toBe("inserted")
      }),
    { timeout: 90_000 }
  )

  it.scoped(
    "--lock-timeout bounds the wait for the migrations lock, and the error names that lock and its holder (10.7)",
    () =>
      Effect.gen(function*() {
        // A database the migrations have not reached: the seed must take the migrations lock first.
        const fresh = yield* scratchDatabase(TestDatabase.adminUrl(), "seed_bounded")
        const other = Context.get(yield* Layer.build(pool(fresh.url, { maxConnections: 2 })), SqlClient.SqlClient)
        const holder = yield* holdAdvisoryLockElsewhere(migrationsLock.id).pipe(
          Effect.provideService(SqlClient.SqlClient, other)
        )
        const url = Redacted.value(fresh.url)
        for (const command of [["seed"], ["providers", "list"], ["migrate"]]) {
          const started = yield* Clock.currentTimeMillis
          const outcome = yield* runCli([...command, "--lock-timeout", "1s"], { ...env, DATABASE_URL: url })
          const elapsed = yield* elapsedSince(started)
          expect(outcome.code, outcome.all).toBe(5)
          expect(outcome.stderr).toContain("the migrations lock")
          expect(outcome.stderr).toContain(`pid ${holder.pid}`)
          // Bounded by the option (1 s), with room for a loaded machine; before, it waited forever.
          expect(elapsed).toBeLessThan(15_000)
        }
        yield* holder.release
      }),
    { timeout: 90_000 }
  )

  it.scoped(
    "a backend stopped mid-transaction ends the run with exit 6 naming the step, within the bound (10.8)",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const sql = yield* SqlClient.SqlClient
        // Another session keeps ai_providers locked, so the seed, holding the seed lock, blocks on its load.
        const blocked = yield* Effect.forkScoped(
          sql.withTransaction(Effect.zipRight(sql`lock table ai_providers in access exclusive mode`, Effect.never))
        )
        const started = yield* Clock.currentTimeMillis
        const run = yield* Effect.fork(seedCli(["--lock-timeout", "4s"]))
        const { pid } = yield* awaitRow("the seed blocked on ai_providers", (sql) =>
          sql<{ pid: number }>`select a.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.locktype = 'relation' and l.relation = 'ai_providers'::regclass and not l.granted
            and a.application_name = 'ai-provider-seed' and a.datname = current_database()`)
        // The stall: the seed's backend stops, then the table lock it waits for goes away.
        yield* stopBackend(pid)
        yield* Fiber.interrupt(blocked)
        const outcome = yield* Fiber.join(run)
        const elapsed = yield* elapsedSince(started)
        expect(outcome.code, outcome.all).toBe(6)
        expect(outcome.stderr).toContain(`"load providers"`)
        expect(outcome.stderr).toContain("sent nothing")
        // The silence limit is the lock wait (4 s) + 5 s + 10 s; before, it never ended.
        expect(elapsed).toBeLessThan(45_000)
      }),
    { timeout: 90_000 }
  )

  it.scoped(
    "a database default idle_in_transaction_session_timeout of 1 s does not end a 10,000-provider seed (10.9)",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        yield* databaseDefault("idle_in_transaction_session_timeout", "1s")
        const directory = yield* Effect.acquireRelease(
          Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "seed-idle-"))),
          (directory) => Effect.promise(() => Fs.rm(directory, { recursive: true, force: true }))
        )
        const envFile = Path.join(directory, "providers.env")
        const lines = Array.from({ length: 10_000 }, (_, i) =>
          [
            `CODER_AIBRIDGE_PROVIDER_${i}_TYPE=openai`,
            `CODER_AIBRIDGE_PROVIDER_${i}_NAME=provider-${i}`,
            `CODER_AIBRIDGE_PROVIDER_${i}_KEY=sk-idle-${i}-0123456789abcdef`
          ].join("\n"))
        yield* Effect.promise(() => Fs.writeFile(envFile, lines.join("\n")))
        const outcome = yield* seedCli(["--dotenv", envFile], {})
        expect(outcome.code, outcome.stderr).toBe(0)
        const [count] = yield* Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ n: number }>`select count(*)::int as n from ai_providers`
        )
        expect(count?.n).toBe(10_001)
      }),
    { timeout: 120_000 }
  )
})
