/**
 * Where the embedded server keeps its data, and what the program may touch (issues 10.1, 11.4, 11.5): it
 * never changes the owner or mode of a directory it did not create; it refuses a directory it cannot use
 * (exit 2, naming AI_PROVIDER_SEED_DATA_DIR); empty variables count as unset; as root it works from a
 * directory the `postgres` user cannot enter, with the programs from a cache only root can change.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { lstatSync, readdirSync, readlinkSync, statSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { relocatedDataDir } from "../../../src/db/embedded/DataDirectory.js"
import { EmbeddedPostgres, EmbeddedPostgresError } from "../../../src/db/EmbeddedPostgres.js"
import { freePort, isRoot, reachableTempDir, remove, scopedTempDir, startIn } from "../../support/EmbeddedServers.js"
import { completion, root, runProgram } from "../../support/Program.js"

const envFile = Path.join(root, "examples/providers.env")
const seedArgs = ["seed", "--dotenv", envFile]

const identity = (path: string) => {
  const stat = statSync(path)
  return { uid: stat.uid, gid: stat.gid, mode: stat.mode }
}

describe("the embedded server's data directory", () => {
  it("a non-empty directory that is not a data directory is refused (exit 2), and left exactly as it was", async () => {
    const dir = await reachableTempDir("seed-embedded-datadir-")
    try {
      await Fs.writeFile(Path.join(dir, "notes.txt"), "the operator's\n")
      const before = identity(dir)
      const result = await runProgram(["seed", "--dotenv", "examples/providers.env"], {
        AI_PROVIDER_SEED_DATA_DIR: dir
      })
      expect(result.code, result.stderr.slice(-2000)).toBe(2)
      expect(result.stderr).toContain("AI_PROVIDER_SEED_DATA_DIR")
      expect(result.stderr).toContain("is not empty and is not a PostgreSQL data directory")
      expect(result.stderr).toContain("Fix:")
      expect(identity(dir)).toEqual(before)
      expect(readdirSync(dir)).toEqual(["notes.txt"])
      expect(readdirSync(Os.tmpdir()).filter((entry) => entry.startsWith(`.${Path.basename(dir)}.initdb-`))).toEqual([])
    } finally {
      await remove(dir)
    }
  }, 60_000)

  it(
    "an empty directory the server could not use as it is (owner or mode) is refused (exit 2), unchanged",
    async () => {
      const dir = await reachableTempDir("seed-embedded-datadir-")
      try {
        // 0755: too open for PostgreSQL; as root, also owned by root rather than the server user.
        const before = identity(dir)
        const result = await runProgram(["seed", "--dotenv", "examples/providers.env"], {
          AI_PROVIDER_SEED_DATA_DIR: dir
        })
        expect(result.code, result.stderr.slice(-2000)).toBe(2)
        expect(result.stderr).toContain("AI_PROVIDER_SEED_DATA_DIR")
        expect(result.stderr).toMatch(isRoot ? /belongs to uid 0/ : /has mode 755/)
        expect(identity(dir)).toEqual(before)
        expect(readdirSync(dir)).toEqual([])
      } finally {
        await remove(dir)
      }
    },
    60_000
  )

  it(
    "empty AI_PROVIDER_SEED_DATA_DIR and DATABASE_URL mean unset: .data/postgres under the working directory",
    async () => {
      const cwd = await reachableTempDir("seed-embedded-datadir-")
      try {
        const before = identity(cwd)
        // Were the empty URL handed to the driver, libpq's defaults would point here: a closed port.
        const closed = await freePort()
        const result = await completion(startIn(cwd, seedArgs, {
          DATABASE_URL: "",
          AI_PROVIDER_SEED_DATA_DIR: "",
          PGHOST: "127.0.0.1",
          PGPORT: String(closed),
          PGDATABASE: "elsewhere"
        }))
        expect(result.code, result.stderr.slice(-2000)).toBe(0)
        expect(result.stdout).toMatch(/inserted\s+openai\b/)
        expect(identity(cwd)).toEqual(before)
        expect(readdirSync(cwd)).toEqual([".data"])
        expect(readdirSync(Path.join(cwd, ".data", "postgres"))).toContain("PG_VERSION")
        if (isRoot) {
          expect(statSync(Path.join(cwd, ".data")).uid).toBe(0)
          expect(statSync(Path.join(cwd, ".data")).mode & 0o777).toBe(0o755)
          expect(statSync(Path.join(cwd, ".data", "postgres")).uid).not.toBe(0)
        }
      } finally {
        await remove(cwd)
      }
    },
    120_000
  )

  it.skipIf(!isRoot)(
    "as root in a directory the postgres user cannot enter: the default data lives under /var/lib/ai-provider-seed",
    async () => {
      // mkdtemp gives 0700: like a clone in root's home.
      const cwd = await Fs.mkdtemp(Path.join(Os.tmpdir(), "seed-embedded-private-"))
      const relocated = relocatedDataDir(Path.join(cwd, ".data", "postgres"))
      try {
        const first = await completion(startIn(cwd, seedArgs, {}))
        const second = await completion(startIn(cwd, seedArgs, {}))
        expect([first.code, second.code], first.stderr + second.stderr).toEqual([0, 0])
        expect(first.stdout).toMatch(/inserted\s+openai\b/)
        expect(second.stdout).toMatch(/unchanged\s+openai\b/)
        expect(first.stderr).toContain(`keeps its data in ${relocated}`)
        expect(readdirSync(relocated)).toContain("PG_VERSION")
        expect(statSync(relocated).uid).not.toBe(0)
        expect(statSync(cwd).mode & 0o777).toBe(0o700)
        expect(readdirSync(cwd)).toEqual([])

        // A directory the operator names is not moved: unreachable, it is refused with the variable named.
        const named = await completion(startIn(cwd, seedArgs, { AI_PROVIDER_SEED_DATA_DIR: Path.join(cwd, "pg") }))
        expect(named.code, named.stderr.slice(-2000)).toBe(2)
        expect(named.stderr).toContain("AI_PROVIDER_SEED_DATA_DIR")
        expect(named.stderr).toContain(`cannot reach ${cwd}`)
        expect(readdirSync(cwd)).toEqual([])
      } finally {
        await remove(cwd)
        await remove(relocated)
      }
    },
    180_000
  )

  it.live.skipIf(!isRoot)(
    "as root, the programs run from a copy only root can change; others' changes are refused",
    () =>
      Effect.gen(function*() {
        const parent = yield* scopedTempDir("seed-embedded-cache-")
        const cache = Path.join(parent, "cache")
        const start = (binariesCache: string) =>
          Effect.provide(
            Effect.map(EmbeddedPostgres, (server) => readlinkSync(`/proc/${server.pid}/exe`)),
            EmbeddedPostgres.layer({ mode: "ephemeral", binariesCache })
          )
        const executable = yield* start(cache)
        expect(executable.startsWith(`${cache}/`)).toBe(true)
        for (const entry of ["", ...readdirSync(cache, { recursive: true }) as Array<string>]) {
          const stat = lstatSync(Path.join(cache, entry))
          expect(stat.uid, entry).toBe(0)
          if (!stat.isSymbolicLink()) expect(stat.mode & 0o022, entry).toBe(0)
        }

        // A file others could rewrite: refused before anything runs.
        yield* Effect.promise(() => Fs.chmod(executable, 0o775))
        const tampered = yield* Effect.flip(start(cache))
        if (!(tampered instanceof EmbeddedPostgresError)) throw tampered
        expect(tampered.step).toBe("binaries")
        expect(tampered.reason).toContain(`${executable} is writable by others than root`)

        // A cache directory planted by another user (as in a shared /tmp): refused, not used.
        const planted = Path.join(parent, "planted")
        yield* Effect.promise(async () => {
          await Fs.mkdir(planted)
          await Fs.chown(planted, 65534, 65534)
        })
        const refused = yield* Effect.flip(start(planted))
        if (!(refused instanceof EmbeddedPostgresError)) throw refused
        expect(refused.step).toBe("binaries")
        expect(refused.reason).toContain(`${planted} belongs to uid 65534`)
        expect(readdirSync(planted)).toEqual([])
      }).pipe(Effect.scoped),
    180_000
  )
})
