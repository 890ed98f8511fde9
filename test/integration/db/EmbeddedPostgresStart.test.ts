/**
 * Readiness and the start's bounds (issue 10.4): readiness comes from the lock file, not from stderr (which
 * `logging_collector = on` silences); the start is bounded and interruptible, and a SIGTERM during the
 * start stops the server.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { EmbeddedPostgres, EmbeddedPostgresError } from "../../../src/db/EmbeddedPostgres.js"
import {
  postmasterOf,
  reachableTempDir,
  remove,
  scopedTempDir,
  startServer,
  until
} from "../../support/EmbeddedServers.js"
import { isRunning, processesWorkingIn } from "../../support/Processes.js"
import { completion, runProgram, start } from "../../support/Program.js"

/** An initialized data directory whose server never becomes ready: a standby with nothing to replay from. */
const standbyDataDir = async (parent: string) => {
  const dataDir = Path.join(parent, "postgres")
  await (await startServer(dataDir)).stop()
  await Fs.writeFile(Path.join(dataDir, "standby.signal"), "")
  await Fs.appendFile(Path.join(dataDir, "postgresql.conf"), "\nhot_standby = off\n")
  return dataDir
}

describe("starting the embedded server", () => {
  it("with logging_collector = on (nothing on stderr), the program still sees the server ready and seeds", async () => {
    const parent = await reachableTempDir("seed-embedded-start-")
    try {
      const dataDir = Path.join(parent, "postgres")
      await (await startServer(dataDir)).stop()
      await Fs.appendFile(Path.join(dataDir, "postgresql.conf"), "\nlogging_collector = on\nlog_directory = 'log'\n")
      const result = await runProgram(["seed", "--dotenv", "examples/providers.env"], {
        AI_PROVIDER_SEED_DATA_DIR: dataDir
      })
      expect(result.code, result.stderr.slice(-2000)).toBe(0)
      expect(result.stdout).toMatch(/inserted\s+openai\b/)
      // The collector really ran: the server's lines went to its log directory.
      expect((await Fs.readdir(Path.join(dataDir, "log"))).length).toBeGreaterThan(0)
    } finally {
      await remove(parent)
    }
  }, 120_000)

  it.live(
    "a server that never becomes ready fails the start within its bound, and is stopped",
    () =>
      Effect.gen(function*() {
        const parent = yield* scopedTempDir("seed-embedded-start-")
        const dataDir = yield* Effect.promise(() => standbyDataDir(parent))
        const started = Date.now()
        const error = yield* EmbeddedPostgres.pipe(
          Effect.provide(EmbeddedPostgres.layer({ mode: "persistent", dataDir, startTimeout: "3 seconds" })),
          Effect.scoped,
          Effect.flip
        )
        const elapsed = Date.now() - started
        if (!(error instanceof EmbeddedPostgresError)) throw error
        expect(error.step).toBe("start")
        expect(error.reason).toContain("not ready within 3s")
        expect(error.message).toContain("Fix:")
        // 3 s to wait, then a bounded stop; generous for a busy machine, far below the 60 s default.
        expect(elapsed).toBeLessThan(40_000)
        expect(processesWorkingIn(dataDir)).toEqual([])
      }).pipe(Effect.scoped),
    90_000
  )

  it("a SIGTERM while the program waits for its server to become ready ends the run and stops the server", async () => {
    const parent = await reachableTempDir("seed-embedded-start-")
    try {
      const dataDir = await standbyDataDir(parent)
      const child = start(["seed", "--dotenv", "examples/providers.env"], { AI_PROVIDER_SEED_DATA_DIR: dataDir })
      const done = completion(child)
      try {
        // The lock file names the program's server: it is spawned, and the program waits for "ready".
        const server = await until("the program's server has started (and is not ready)", () => {
          if (child.exitCode !== null) throw new Error(`the program exited ${child.exitCode} before its server started`)
          const postmaster = postmasterOf(dataDir)
          return postmaster !== undefined && isRunning(postmaster.pid) ? postmaster : undefined
        })
        expect(server.status).not.toBe("ready")
        child.kill("SIGTERM")
        const result = await Promise.race([
          done,
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error("the program did not end within 45 s of SIGTERM")), 45_000)
          )
        ])
        expect(result.code).not.toBe(0)
        expect(isRunning(server.pid)).toBe(false)
        expect(processesWorkingIn(dataDir)).toEqual([])
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
        await done
      }
    } finally {
      await remove(parent)
    }
  }, 120_000)
})
