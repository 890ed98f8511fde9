/**
 * PostgreSQL stopped and started again while a seed runs (issue 6): the run fails with exit 6 and a
 * message naming the step, nothing partial is left, and the next run succeeds. The test runs its own
 * persistent embedded server so that it can stop and restart it.
 */
import { SqlClient } from "@effect/sql"
import { expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Random, Redacted, Scope } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { pool } from "../../../src/db/Database.js"
import { EmbeddedPostgres } from "../../../src/db/EmbeddedPostgres.js"
import { migrate, migrationsLock } from "../../../src/db/Migrations.js"
import { completion, type ProgramResult, start } from "../../support/Program.js"
import {
  blockSeedWrites,
  complete,
  counts,
  expectAllOrNone,
  expectNoCanaries,
  largeEnvFile,
  seedBlockedInside,
  sessionHolding,
  waitUntil
} from "./Faults.js"

const providers = 2000

/** Starts the server on the data directory; `stop` is a fast shutdown, as an operator's restart does. */
const startServer = (dataDir: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const server = yield* Layer.buildWithScope(EmbeddedPostgres.layer({ mode: "persistent", dataDir }), scope).pipe(
      Effect.map(Context.get(EmbeddedPostgres))
    )
    return { url: server.url, port: server.port, stop: Scope.close(scope, Exit.void) }
  })

const onServer = <A, E, R>(url: Redacted.Redacted<string>, effect: Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.provide(effect, pool(url)))

/** mkdtemp gives 700; the server runs as `postgres` when we are root and must reach its data directory. */
const tempDir = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "ai-provider-seed-restart-"))
    await Fs.chmod(dir, 0o755)
    return dir
  }),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

/** A session of its own holding the seed lock, so the seed waits inside its transaction. */
const holdSeedLock = (url: Redacted.Redacted<string>) => sessionHolding(url, "select pg_advisory_xact_lock(10)")

const seedWaitsForLock = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ waiting: boolean }>`
    select exists(select 1 from pg_locks where locktype = 'advisory' and objid = 10 and not granted) as waiting`).pipe(
    Effect.map((rows) => rows[0]?.waiting === true)
  )

/** The seed's migration waits for the migrations lock (held elsewhere), inside its transaction. */
const migrationWaitsForLock = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ waiting: boolean }>`
    select exists(select 1 from pg_locks where locktype = 'advisory' and not granted and objsubid = 1
      and classid = (${String(migrationsLock.id)}::bigint >> 32)::oid
      and objid = (${String(migrationsLock.id)}::bigint & 4294967295)::oid) as waiting`).pipe(
    Effect.map((rows) => rows[0]?.waiting === true)
  )

const restartDuringSeed = (
  moment: "while it waits for the lock" | "inside the transaction" | "while it migrates" | "at a random moment"
) =>
  Effect.gen(function*() {
    const dataDir = Path.join(yield* tempDir, "data")
    const env = yield* largeEnvFile("restart", providers)
    // A lock timeout longer than any wait here: the server-side lock_timeout it sets must not end a blocked run.
    const args = ["seed", "--format", "json", "--dotenv", env.path, "--lock-timeout", "5m"]
    const first = yield* startServer(dataDir)
    // The moment is made before the seed starts (a held lock, blocked writes): it cannot pass unseen.
    if (moment === "while it waits for the lock") {
      yield* holdSeedLock(first.url)
    } else if (moment === "inside the transaction") {
      yield* onServer(first.url, migrate())
      yield* blockSeedWrites(first.url)
    } else if (moment === "while it migrates") {
      yield* sessionHolding(first.url, `select pg_advisory_xact_lock(${String(migrationsLock.id)})`)
    }
    const child = start(args, { DATABASE_URL: Redacted.value(first.url) })
    const exited = completion(child)
    const running = Effect.promise(() => exited)
    // Waiting for a moment of the run fails at once, with its output, if the run ends before it.
    const untilOrExit = <E, R>(moment: Effect.Effect<void, E, R>) =>
      Effect.raceFirst(
        onServer(first.url, moment),
        Effect.flatMap(
          running,
          (early) =>
            Effect.dieMessage(`the seed exited ${early.code} before the moment came: ${early.stderr.slice(-1500)}`)
        )
      )
    if (moment === "while it waits for the lock") {
      yield* untilOrExit(waitUntil("the seed waits for the lock", seedWaitsForLock, "90 seconds"))
    } else if (moment === "inside the transaction") {
      yield* untilOrExit(
        waitUntil("the seed holds the lock and waits to write", seedBlockedInside("postgres"), "90 seconds")
      )
    } else if (moment === "while it migrates") {
      yield* untilOrExit(waitUntil("the seed's migration waits for its lock", migrationWaitsForLock, "90 seconds"))
    } else {
      yield* Effect.sleep(yield* Random.nextIntBetween(300, 4000))
    }
    yield* first.stop
    const failed = yield* running.pipe(
      Effect.timeoutFail({
        duration: "60 seconds",
        onTimeout: () => new Error("the seed did not exit within 60 s after PostgreSQL stopped")
      }),
      Effect.tapError(() => Effect.sync(() => child.kill("SIGKILL"))),
      Effect.orDie
    )
    const second = yield* startServer(dataDir)
    yield* onServer(
      second.url,
      Effect.gen(function*() {
        expectAllOrNone(yield* counts, providers, `after a restart ${moment} (exit ${failed.code})`)
        const next = yield* Effect.promise(() => completion(start(args, { DATABASE_URL: Redacted.value(second.url) })))
        expect(next.code, next.stderr.slice(-2000)).toBe(0)
        expect(yield* counts).toEqual(complete(providers))
        yield* expectNoCanaries([failed.stdout, failed.stderr, next.stdout, next.stderr], env.secrets)
      })
    )
    yield* second.stop
    return failed
  }).pipe(Effect.scoped)

/** A failed run says which step failed, as JSON too, without a stack trace or a password. */
const expectDatabaseFailure = (failed: ProgramResult) => {
  expect(failed.code, failed.stderr.slice(-2000)).toBe(6)
  expect(failed.stderr).toMatch(/Database step "[^"]+" failed/)
  expect(JSON.parse(failed.stdout).error._tag).toBe("DatabaseError")
  expect(failed.stderr).not.toMatch(/\n\s+at /)
}

/** At a moment that may fall before, inside or after the transaction: success or a database failure. */
const expectSuccessOrDatabaseFailure = (failed: ProgramResult) => {
  if (failed.code !== 0) expectDatabaseFailure(failed)
}

it.live(
  "PostgreSQL restarted while the seed waits for the lock: the run fails, the next one succeeds",
  () =>
    Effect.gen(function*() {
      const failed = yield* restartDuringSeed("while it waits for the lock")
      expectDatabaseFailure(failed)
    }),
  { timeout: 180_000 }
)

it.live(
  "PostgreSQL restarted while the seed is inside its transaction: it fails, nothing partial, the next run succeeds",
  () => Effect.map(restartDuringSeed("inside the transaction"), expectDatabaseFailure),
  { timeout: 180_000 }
)

it.live(
  "PostgreSQL restarted while the seed migrates: exit 6 naming the step (the transaction's ROLLBACK dies), the next run succeeds",
  () => Effect.map(restartDuringSeed("while it migrates"), expectDatabaseFailure),
  { timeout: 180_000 }
)

it.live(
  "PostgreSQL restarted at a random moment of a seed: all or nothing, the next run succeeds",
  () => Effect.map(restartDuringSeed("at a random moment"), expectSuccessOrDatabaseFailure),
  { timeout: 180_000 }
)
