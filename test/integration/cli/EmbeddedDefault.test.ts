import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import Pg from "pg"
import { isRunning } from "../../support/Processes.js"
import { baseEnvironment, completion, root, runProgram } from "../../support/Program.js"

/** A data directory for the embedded default whose parent the `postgres` user can reach. */
const dataDirectory = async () => {
  const parent = await Fs.mkdtemp(Path.join(Os.tmpdir(), "seed-embedded-default-"))
  await Fs.chmod(parent, 0o755)
  return { parent, dataDir: Path.join(parent, "postgres") }
}

/** The pid file's lines, or none while it does not exist (it comes and goes during initdb). */
const pidFileLines = (path: string): ReadonlyArray<string> => {
  try {
    return readFileSync(path, "utf8").split("\n")
  } catch {
    return []
  }
}

const linesWith = (stdout: string, action: string) =>
  stdout.split("\n").filter((line) => line.trim().startsWith(action)).map((line) => line.trim().split(/\s+/)[1])

describe("the embedded default (no DATABASE_URL)", () => {
  it("seeds the example environment, then finds it unchanged on a second run in the same data directory", async () => {
    const { dataDir, parent } = await dataDirectory()
    const env = { AI_PROVIDER_SEED_DATA_DIR: dataDir }
    const args = ["seed", "--env-file", "examples/providers.env"]
    const first = await runProgram(args, env)
    const second = await runProgram(args, env)
    expect([first.code, second.code]).toEqual([0, 0])
    expect(linesWith(first.stdout, "inserted")).toEqual(["anthropic", "openai", "openai-eu"])
    expect(linesWith(second.stdout, "unchanged")).toEqual(["anthropic", "openai", "openai-eu"])
    expect(existsSync(Path.join(dataDir, "postmaster.pid"))).toBe(false)
    for (const secret of ["sk-example-openai-0000000000000000", "example/secret/access/key/000000000000"]) {
      expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toContain(secret)
    }
    await Fs.rm(parent, { recursive: true, force: true })
  })

  it("`npm start` killed with SIGTERM while the embedded database runs leaves no postgres process behind", async () => {
    const { dataDir, parent } = await dataDirectory()
    const pidFile = Path.join(dataDir, "postmaster.pid")
    // A lock timeout longer than the test's own: only the signal can end this run in time.
    const child = spawn("npm", [
      "start",
      "--silent",
      "--",
      "--env-file",
      "examples/providers.env",
      "--lock-timeout",
      "5m"
    ], {
      cwd: root,
      env: { ...baseEnvironment(), AI_PROVIDER_SEED_DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const done = completion(child)
    try {
      // postmaster.pid exists while the server runs: its first line is the server's pid (negative during
      // initdb's bootstrap), its fourth the port, and its status line says "ready" once it accepts connections.
      let server: { pid: number; port: number } | undefined
      while (server === undefined && child.exitCode === null) {
        const lines = pidFileLines(pidFile)
        if (Number(lines[0]) > 0 && lines.some((line) => line.trim() === "ready")) {
          server = { pid: Number(lines[0]), port: Number(lines[3]) }
        } else {
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
      }
      expect(server).toBeDefined()
      // Hold the seed lock so that the program is certainly mid-run (waiting for it) when the signal comes.
      const blocker = new Pg.Client({ host: "127.0.0.1", port: server!.port, user: "postgres", database: "postgres" })
      // The server goes away under this session when the program stops it: that is the point.
      blocker.on("error", () => undefined)
      await blocker.connect()
      await blocker.query("select pg_advisory_lock(10)")
      let waiting = false
      for (let i = 0; i < 400 && !waiting; i++) {
        const { rows } = await blocker.query(
          "select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted"
        )
        waiting = rows[0].n > 0
        if (!waiting) await new Promise((resolve) => setTimeout(resolve, 25))
      }
      expect(waiting).toBe(true)

      child.kill("SIGTERM")
      const result = await done
      await blocker.end().catch(() => undefined)
      expect(result.code).not.toBe(0)
      expect(isRunning(server!.pid)).toBe(false)
      // A clean shutdown removes the pid file: the program's finalizers stopped the server.
      expect(existsSync(pidFile)).toBe(false)
    } finally {
      // A failed assertion must not leave the program (and its server) running.
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
      await done
      await Fs.rm(parent, { recursive: true, force: true })
    }
  })
})
