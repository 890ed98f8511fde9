/**
 * The embedded default as an ordinary user (issue 10.1): no user switch and no cache, the server runs as
 * that user in a data directory it owns. Run as `nobody` when we are root; needs a checkout that `nobody`
 * can read (a clone under root's 0700 home is not: then the test says so and is skipped).
 */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync, spawn } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { isRoot, reachableTempDir, remove } from "../../support/EmbeddedServers.js"
import { completion, root } from "../../support/Program.js"

const nobody = ["--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--"]

const readableByNobody = (() => {
  if (!isRoot) return false
  try {
    execFileSync("setpriv", [...nobody, "test", "-r", Path.join(root, "node_modules/tsx/package.json")])
    return true
  } catch {
    return false
  }
})()
if (isRoot && !readableByNobody) console.warn(`nobody cannot read ${root}: the ordinary-user test is skipped`)

const runAsNobody = (cwd: string, dataDir: string) =>
  completion(spawn("setpriv", [
    ...nobody,
    process.execPath,
    "--import",
    "tsx",
    Path.join(root, "src/bin.ts"),
    "seed",
    "--dotenv",
    "examples/providers.env"
  ], {
    cwd,
    env: { PATH: process.env["PATH"] ?? "", HOME: "/tmp", AI_PROVIDER_SEED_DATA_DIR: dataDir },
    stdio: ["ignore", "pipe", "pipe"]
  }))

describe("the embedded default as an ordinary user", () => {
  it.skipIf(!readableByNobody)("seeds, then finds its data again, with everything owned by that user", async () => {
    const parent = await reachableTempDir("seed-embedded-user-")
    try {
      await Fs.chown(parent, 65534, 65534)
      const dataDir = Path.join(parent, "postgres")
      const first = await runAsNobody(root, dataDir)
      const second = await runAsNobody(root, dataDir)
      expect([first.code, second.code], first.stderr + second.stderr).toEqual([0, 0])
      expect(first.stdout).toMatch(/inserted\s+openai\b/)
      expect(second.stdout).toMatch(/unchanged\s+openai\b/)
      const stat = statSync(dataDir)
      expect([stat.uid, stat.mode & 0o777]).toEqual([65534, 0o700])
      expect(readdirSync(dataDir)).toContain("PG_VERSION")
    } finally {
      await remove(parent)
    }
  }, 180_000)
})
