import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as Path from "node:path"
import {
  holdSeedLockAcrossStarts,
  passwordOf,
  reachableTempDir,
  remove,
  untilSeedWaitsForLock
} from "../../support/EmbeddedServers.js"
import { isRunning, processesWorkingIn, signal } from "../../support/Processes.js"
import { baseEnvironment, completion, root, runProgram } from "../../support/Program.js"

const linesWith = (stdout: string, action: string) =>
  stdout.split("\n").filter((line) => line.trim().startsWith(action)).map((line) => line.trim().split(/\s+/)[1])

describe("the embedded default (no DATABASE_URL)", () => {
  it("seeds the example environment, then finds it unchanged on a second run in the same data directory", async () => {
    const parent = await reachableTempDir("seed-embedded-default-")
    try {
      const dataDir = Path.join(parent, "postgres")
      const env = { AI_PROVIDER_SEED_DATA_DIR: dataDir }
      const args = ["seed", "--dotenv", "examples/providers.env"]
      const first = await runProgram(args, env)
      const second = await runProgram(args, env)
      expect([first.code, second.code], first.stderr + second.stderr).toEqual([0, 0])
      expect(linesWith(first.stdout, "inserted")).toEqual(["anthropic", "openai", "openai-eu"])
      expect(linesWith(second.stdout, "unchanged")).toEqual(["anthropic", "openai", "openai-eu"])
      expect(existsSync(Path.join(dataDir, "postmaster.pid"))).toBe(false)
      // The server's password is a secret like the keys.
      for (
        const secret of [
          "sk-example-openai-0000000000000000",
          "example/secret/access/key/000000000000",
          passwordOf(dataDir)
        ]
      ) {
        expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toContain(secret)
      }
    } finally {
      await remove(parent)
    }
  }, 120_000)

  it(
    "`npm start` killed with SIGTERM while the seed waits for its lock leaves no postgres process behind",
    async () => {
      const parent = await reachableTempDir("seed-embedded-default-")
      const dataDir = Path.join(parent, "postgres")
      // The seed lock is held from before the program starts: the run certainly waits for it (no race).
      await holdSeedLockAcrossStarts(dataDir)
      // A lock timeout longer than the test's own: only the signal can end this run in time.
      const child = spawn("npm", [
        "start",
        "--silent",
        "--",
        "--dotenv",
        "examples/providers.env",
        "--lock-timeout",
        "5m"
      ], {
        cwd: root,
        env: { ...baseEnvironment(), AI_PROVIDER_SEED_DATA_DIR: dataDir },
        stdio: ["ignore", "pipe", "pipe"],
        // Its own process group, so that the cleanup below reaches npm's child too.
        detached: true
      })
      const done = completion(child)
      try {
        const server = await untilSeedWaitsForLock(child, dataDir)

        child.kill("SIGTERM")
        const result = await done
        expect(result.code, result.stderr.slice(-2000)).not.toBe(0)
        expect(isRunning(server.pid)).toBe(false)
        expect(processesWorkingIn(dataDir)).toEqual([])
        // A clean shutdown removes the pid file: the program's finalizers stopped the server.
        expect(existsSync(Path.join(dataDir, "postmaster.pid"))).toBe(false)
      } finally {
        // A failed assertion must not leave the program (and its server) running.
        if (child.exitCode === null && child.signalCode === null) signal(-child.pid!, "SIGKILL")
        await done
        await remove(parent)
      }
    },
    180_000
  )
})
