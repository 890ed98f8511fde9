/**
 * The next run recovers by itself (issues 10.3 and 10.5): a SIGKILLed program's server dies with it; a
 * server left running by a dead run is stopped, never its data; a lock file whose pid was reused is no
 * obstacle; a live run's server is left alone and the second run gets a clear error; a killed initdb
 * leaves only a temporary directory, which the next run removes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { binaries, defaultCacheRoot } from "../../../src/db/embedded/Binaries.js"
import { initdbPrefix } from "../../../src/db/embedded/DataDirectory.js"
import { ownerVariable } from "../../../src/db/embedded/PostmasterLock.js"
import { argumentsOf } from "../../../src/db/embedded/Processes.js"
import { serverFlags } from "../../../src/db/embedded/Server.js"
import { command, serverUser } from "../../../src/db/embedded/ServerUser.js"
import {
  freePort,
  holdSeedLockAcrossStarts,
  ownerClient,
  postmasterOf,
  reachableTempDir,
  remove,
  scopedTempDir,
  startServer,
  until,
  untilSeedWaitsForLock
} from "../../support/EmbeddedServers.js"
import { isRunning, processesWorkingIn, signal } from "../../support/Processes.js"
import { completion, runProgram, start } from "../../support/Program.js"

const seedArgs = ["seed", "--dotenv", "examples/providers.env"]

const insertedLines = (stdout: string) => stdout.split("\n").filter((line) => line.trim().startsWith("inserted")).length

/** Runs `body` with the program seeding into `dataDir` and certainly waiting for the seed lock (held beforehand). */
const withWaitingProgram = async (
  dataDir: string,
  body: (program: ReturnType<typeof start>, server: { pid: number; port: number }) => Promise<void>
) => {
  await holdSeedLockAcrossStarts(dataDir)
  const child = start([...seedArgs, "--lock-timeout", "5m"], { AI_PROVIDER_SEED_DATA_DIR: dataDir })
  const done = completion(child)
  try {
    const server = await untilSeedWaitsForLock(child, dataDir)
    await body(child, server)
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    await done
  }
}

/** Ends the prepared transaction that held the seed lock, on a server of our own. */
const releaseSeedLock = async (dataDir: string) => {
  const server = await startServer(dataDir)
  const client = await ownerClient(dataDir, server.port)
  try {
    await client.query("rollback prepared 'ai-provider-seed-test-hold'")
  } finally {
    await client.end()
    await server.stop()
  }
}

describe("recovering the embedded server", () => {
  it("a SIGKILLed program's server stops by itself, and the next run succeeds", async () => {
    const parent = await reachableTempDir("seed-embedded-recovery-")
    try {
      const dataDir = Path.join(parent, "postgres")
      let serverPid = 0
      await withWaitingProgram(dataDir, async (program, server) => {
        serverPid = server.pid
        program.kill("SIGKILL")
        await completion(program).catch(() => undefined)
        // The parent-death signal asks for a fast shutdown: the server exits and removes its lock file.
        await until("the orphaned server has stopped", () => isRunning(server.pid) ? undefined : true, 60_000)
        await until("its lock file is gone", () => existsSync(Path.join(dataDir, "postmaster.pid")) ? undefined : true)
      })
      expect(isRunning(serverPid)).toBe(false)
      await releaseSeedLock(dataDir)
      const next = await runProgram(seedArgs, { AI_PROVIDER_SEED_DATA_DIR: dataDir })
      expect(next.code, next.stderr.slice(-2000)).toBe(0)
      expect(insertedLines(next.stdout)).toBe(3)
    } finally {
      await remove(parent)
    }
  }, 240_000)

  it("a server left running by a dead run is stopped by the next run, which keeps its data and succeeds", async () => {
    const parent = await reachableTempDir("seed-embedded-recovery-")
    try {
      const dataDir = Path.join(parent, "postgres")
      const first = await startServer(dataDir)
      const client = await ownerClient(dataDir, first.port)
      await client.query("create table kept (note text); insert into kept values ('written before the crash')")
      await client.end()
      await first.stop()
      // The server of a run that died without taking it along: its owner's pid names no live process.
      const deadOwner = await new Promise<number>((resolve) => {
        const child = spawn("true")
        child.once("exit", () => resolve(child.pid!))
      })
      const launch = await Effect.runPromise(
        Effect.gen(function*() {
          const user = yield* serverUser(dataDir)
          const bin = yield* binaries(user, defaultCacheRoot, dataDir)
          return command(user, "SIGKILL", bin.postgres, serverFlags(dataDir, yield* Effect.promise(freePort), true))
        })
      )
      const orphan = spawn(launch.file, launch.args, {
        ...launch.options,
        detached: true,
        stdio: "ignore",
        env: { PATH: process.env["PATH"] ?? "", [ownerVariable]: String(deadOwner) }
      })
      orphan.unref()
      try {
        const left = await until("the left-over server is ready", () => {
          if (orphan.exitCode !== null) throw new Error(`the left-over server exited ${orphan.exitCode}`)
          const postmaster = postmasterOf(dataDir)
          return postmaster?.status === "ready" ? postmaster : undefined
        })
        const next = await runProgram(seedArgs, { AI_PROVIDER_SEED_DATA_DIR: dataDir })
        expect(next.code, next.stderr.slice(-2000)).toBe(0)
        expect(next.stderr).toContain("left running by a run that died")
        expect(isRunning(left.pid)).toBe(false)
        const server = await startServer(dataDir)
        const check = await ownerClient(dataDir, server.port)
        const { rows } = await check.query("select note from kept")
        await check.end()
        await server.stop()
        expect(rows).toEqual([{ note: "written before the crash" }])
      } finally {
        if (orphan.pid !== undefined) signal(orphan.pid, "SIGKILL")
      }
    } finally {
      await remove(parent)
    }
  }, 240_000)

  it("a second run on a data directory whose owner lives fails clearly and leaves that server alone", async () => {
    const parent = await reachableTempDir("seed-embedded-recovery-")
    try {
      const dataDir = Path.join(parent, "postgres")
      await withWaitingProgram(dataDir, async (program, server) => {
        const second = await runProgram(seedArgs, { AI_PROVIDER_SEED_DATA_DIR: dataDir })
        expect(second.code, second.stderr.slice(-2000)).toBe(6)
        expect(second.stderr).toContain(`in use by another ai-provider-seed run (pid ${program.pid}`)
        expect(second.stderr).toContain("Fix: wait for that run to end")
        expect(isRunning(server.pid)).toBe(true)
        expect(program.exitCode).toBe(null)
        program.kill("SIGTERM")
        await completion(program)
        expect(isRunning(server.pid)).toBe(false)
      })
    } finally {
      await remove(parent)
    }
  }, 240_000)

  it.live("a lock file whose pid now names an unrelated process does not stop the start", () =>
    Effect.gen(function*() {
      const parent = yield* scopedTempDir("seed-embedded-recovery-")
      const dataDir = Path.join(parent, "postgres")
      yield* Effect.promise(async () => (await startServer(dataDir)).stop())
      // After a crash and a reboot, the pid in the lock file may belong to anything, even of the server user.
      const user = yield* serverUser(dataDir)
      const sleeper = command(user, "SIGKILL", "sleep", ["600"])
      const unrelated = yield* Effect.acquireRelease(
        Effect.sync(() => spawn(sleeper.file, sleeper.args, { ...sleeper.options, stdio: "ignore" })),
        (child) => Effect.sync(() => child.kill("SIGKILL"))
      )
      yield* Effect.promise(() =>
        Fs.writeFile(
          Path.join(dataDir, "postmaster.pid"),
          `${unrelated.pid}\n${dataDir}\n1700000000\n5432\n\n127.0.0.1\n  0  0\nready   \n`
        )
      )
      const server = yield* Effect.promise(() => startServer(dataDir))
      expect(postmasterOf(dataDir)?.pid).toBe(server.pid)
      expect(isRunning(unrelated.pid!)).toBe(true)
      yield* Effect.promise(() => server.stop())
    }).pipe(Effect.scoped), 120_000)

  it("a program killed during initdb leaves nothing the next run trips on", async () => {
    const parent = await reachableTempDir("seed-embedded-recovery-")
    try {
      const dataDir = Path.join(parent, "postgres")
      const child = start(seedArgs, { AI_PROVIDER_SEED_DATA_DIR: dataDir })
      const done = completion(child)
      let initdb = 0
      try {
        // initdb runs and has written PG_VERSION (the file that bricked later runs): freeze it there.
        const found = await until(
          "initdb has written PG_VERSION",
          () => {
            if (child.exitCode !== null) throw new Error(`the program exited ${child.exitCode} before initdb ran`)
            for (const entry of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
              const args = argumentsOf(Number(entry))
              const pgdata = args?.[0]?.endsWith("/initdb")
                ? args.find((arg) => arg.startsWith("--pgdata="))
                : undefined
              const dir = pgdata?.slice("--pgdata=".length)
              if (dir?.startsWith(parent) && existsSync(Path.join(dir, "PG_VERSION"))) return Number(entry)
            }
            return undefined
          },
          90_000,
          5
        )
        initdb = found
        signal(initdb, "SIGSTOP")
        expect(isRunning(initdb)).toBe(true)
        child.kill("SIGKILL")
        await done
        // initdb dies with the program (parent-death signal), and so does its bootstrap backend.
        await until("initdb has died with the program", () => isRunning(initdb) ? undefined : true, 30_000)
        await until("nothing works in the directory", () => processesWorkingIn(parent).length === 0 || undefined)
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
        if (initdb > 0) signal(initdb, "SIGKILL")
        await done
      }
      const next = await runProgram(seedArgs, { AI_PROVIDER_SEED_DATA_DIR: dataDir })
      expect(next.code, next.stderr.slice(-2000)).toBe(0)
      expect(insertedLines(next.stdout)).toBe(3)
      expect(existsSync(Path.join(dataDir, "PG_VERSION"))).toBe(true)
      // The killed run's temporary directory is gone: removed by the next run.
      expect(readdirSync(parent).filter((entry) => entry.startsWith(initdbPrefix(dataDir)))).toEqual([])
    } finally {
      await remove(parent)
    }
  }, 240_000)
})
