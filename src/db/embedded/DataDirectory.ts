/**
 * Where the data lives, whether it can be used as it is, and its creation. The program never changes the
 * owner or mode of a directory it did not create. A new data directory is initialized next to its place
 * (`.NAME.initdb-PID-XXXXXX`) and renamed into place when complete, so a killed initdb leaves only that
 * temporary directory, which the next run removes.
 */
import { Duration, Effect } from "effect"
import { createHash } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { type Binaries, checkRootOnly } from "./Binaries.js"
import {
  generatePassword,
  hbaFileName,
  hbaRules,
  passwordFileName,
  superuser,
  writePrivateFile
} from "./Credentials.js"
import { DataDirectoryUnusable, EmbeddedPostgresError, reasonOf } from "./Errors.js"
import { isAlive, processesWorkingIn } from "./Processes.js"
import { canReach, command, run, type ServerUser } from "./ServerUser.js"

/**
 * Root's data directory when the default one (`.data/postgres` under the working directory) is out of the
 * server user's reach, e.g. in root's 0700 home: one directory per default path, so that two checkouts
 * keep apart as they do under their own working directories.
 */
export const relocationRoot = "/var/lib/ai-provider-seed"

export const relocatedDataDir = (wanted: string) => {
  const hash = createHash("sha256").update(wanted).digest("hex").slice(0, 12)
  const readable = wanted.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "").slice(-60)
  return Path.join(relocationRoot, `${readable}-${hash}`)
}

export const initdbPrefix = (dataDir: string) => `.${Path.basename(dataDir)}.initdb-`
const ephemeralPrefix = "ai-provider-seed-pg-"

const exists = (path: string) => Fs.lstat(path).then(() => true, () => false)

const nearestExisting = async (path: string): Promise<string> =>
  (await exists(path)) || Path.dirname(path) === path ? path : nearestExisting(Path.dirname(path))

/** Creates `dir` and its missing parents; as root the ones we create get 0755, so the server user can pass. */
const makeDirectories = async (dir: string, user: ServerUser) => {
  const first = await Fs.mkdir(dir, { recursive: true, mode: 0o755 })
  if (first === undefined || user.switchTo === undefined) return
  for (let current = dir;; current = Path.dirname(current)) {
    await Fs.chmod(current, 0o755)
    if (current === first || current === Path.dirname(current)) break
  }
}

const ownUid = (user: ServerUser) => user.switchTo?.uid ?? process.getuid?.() ?? -1

/**
 * Removes what killed runs left: temporary directories named by our prefix, owned by the server user (or
 * us), whose creating process is dead and in which no process works.
 */
const removeLeftovers = async (parent: string, prefix: string, owners: ReadonlyArray<number>) => {
  const entries = await Fs.readdir(parent).catch(() => [] as Array<string>)
  for (const entry of entries) {
    const pid = entry.startsWith(prefix) ? /^(\d+)-/.exec(entry.slice(prefix.length))?.[1] : undefined
    if (pid === undefined || isAlive(Number(pid))) continue
    const path = Path.join(parent, entry)
    const stat = await Fs.lstat(path).catch(() => undefined)
    if (stat === undefined || !stat.isDirectory() || !owners.includes(stat.uid)) continue
    if (processesWorkingIn(path).length > 0) continue
    await Fs.rm(path, { recursive: true, force: true })
  }
}

export type Location =
  /** `relocatable`: the default directory, which root may move to `relocationRoot` when the server user cannot reach it. */
  | { readonly mode: "persistent"; readonly dataDir: string; readonly relocatable: boolean }
  | { readonly mode: "ephemeral" }

export interface Located {
  readonly dataDir: string
  /** For an ephemeral server: the temporary directory to remove with it. */
  readonly temporary?: string
}

const unusable = (dataDir: string, reason: string, fix: string) => new DataDirectoryUnusable({ dataDir, reason, fix })

/** For root: why the server user could not safely use a data directory under `anchor`, if it could not. */
const problemUnder = (anchor: string, user: ServerUser) =>
  Effect.gen(function*() {
    const unsafe = yield* Effect.promise(() => checkRootOnly(anchor).catch((cause) => reasonOf(cause)))
    if (unsafe !== undefined) {
      return `${unsafe}; as root, the data directory must sit under directories only root can change`
    }
    return (yield* canReach(user, anchor))
      ? undefined
      : `the "${user.name}" user, which runs the server, cannot reach ${anchor}`
  })

const ephemeral = (user: ServerUser) =>
  Effect.gen(function*() {
    const fallback = "/tmp"
    const base = user.switchTo === undefined || (yield* problemUnder(Os.tmpdir(), user)) === undefined
      ? Os.tmpdir()
      : fallback
    return yield* Effect.tryPromise({
      try: async () => {
        await removeLeftovers(base, ephemeralPrefix, [process.getuid?.() ?? -1])
        const temporary = await Fs.mkdtemp(Path.join(base, `${ephemeralPrefix}${process.pid}-`))
        // mkdtemp gives 0700; the server user must pass through it.
        if (user.switchTo !== undefined) await Fs.chmod(temporary, 0o755)
        return { dataDir: Path.join(temporary, "data"), temporary }
      },
      catch: (cause) =>
        new EmbeddedPostgresError({
          step: "directory",
          dataDir: base,
          reason: `cannot create a temporary data directory: ${reasonOf(cause)}`,
          fix: `make ${base} writable, or set TMPDIR to a writable directory`
        })
    })
  })

const persistent = (wanted: string, relocatable: boolean, user: ServerUser) =>
  Effect.gen(function*() {
    const present = yield* Effect.promise(() => exists(wanted))
    const dataDir = present ? yield* Effect.promise(() => Fs.realpath(wanted)) : wanted
    if (user.switchTo === undefined) return { dataDir }
    const anchor = present ? Path.dirname(dataDir) : yield* Effect.promise(() => nearestExisting(Path.dirname(wanted)))
    const problem = yield* problemUnder(anchor, user)
    if (problem === undefined) return { dataDir }
    if (!relocatable || present) {
      return yield* unusable(
        dataDir,
        problem,
        `choose a directory the "${user.name}" user can reach under directories only root can change (for example ${relocationRoot}/NAME) and set AI_PROVIDER_SEED_DATA_DIR to it`
      )
    }
    const relocated = relocatedDataDir(wanted)
    yield* Effect.tryPromise({
      try: () => makeDirectories(relocationRoot, user),
      catch: (cause) => unusable(relocated, reasonOf(cause), `make ${relocationRoot} creatable by root`)
    })
    const relocatedProblem = yield* problemUnder(relocationRoot, user)
    if (relocatedProblem !== undefined) {
      return yield* unusable(
        relocated,
        relocatedProblem,
        `make ${relocationRoot} a directory only root can change, or set AI_PROVIDER_SEED_DATA_DIR`
      )
    }
    yield* Effect.logInfo(`the embedded PostgreSQL keeps its data in ${relocated} (${problem})`)
    return { dataDir: relocated }
  })

/** Where the data directory is, after the checks a root run needs (the server user can reach it safely). */
export const locate = Effect.fn("EmbeddedPostgres.locate")(function*(location: Location, user: ServerUser) {
  const located: Located = location.mode === "ephemeral"
    ? yield* ephemeral(user)
    : yield* persistent(Path.resolve(location.dataDir), location.relocatable, user)
  return located
})

/** A data directory is missing, empty (and usable as it is), or initialized; anything else is refused. */
export const inspect = Effect.fn("EmbeddedPostgres.inspect")(function*(dataDir: string, user: ServerUser) {
  const stat = yield* Effect.promise(() => Fs.stat(dataDir).catch(() => undefined))
  if (stat === undefined) return "missing" as const
  const owner = `the server runs as ${user.name} (uid ${ownUid(user)})`
  const fixOwner = `remove it (the program creates it), or give it to the server user (chown ${
    ownUid(user)
  } ${dataDir})`
  if (!stat.isDirectory()) {
    return yield* unusable(dataDir, "it is not a directory", "point AI_PROVIDER_SEED_DATA_DIR at a directory")
  }
  const entries = yield* Effect.tryPromise({
    try: () => Fs.readdir(dataDir),
    catch: (cause) => unusable(dataDir, `cannot list it: ${reasonOf(cause)}`, fixOwner)
  })
  if (entries.includes("PG_VERSION")) {
    if (stat.uid !== ownUid(user)) {
      return yield* unusable(dataDir, `it belongs to uid ${stat.uid} and ${owner}`, fixOwner)
    }
    return "initialized" as const
  }
  if (entries.length > 0) {
    return yield* unusable(
      dataDir,
      `it is not empty and is not a PostgreSQL data directory (no PG_VERSION among its ${entries.length} entries)`,
      "point AI_PROVIDER_SEED_DATA_DIR at a missing or empty directory (the program creates and initializes it), or at a data directory it created"
    )
  }
  // An empty directory becomes the data directory as it is: PostgreSQL needs it to be the server user's, 0700 or 0750.
  if (stat.uid !== ownUid(user)) {
    return yield* unusable(dataDir, `it is empty but belongs to uid ${stat.uid} and ${owner}`, fixOwner)
  }
  if ((stat.mode & 0o027) !== 0) {
    return yield* unusable(
      dataDir,
      `it is empty but has mode ${(stat.mode & 0o777).toString(8)}; PostgreSQL needs 0700 or 0750`,
      `remove it (the program creates it), or chmod 700 ${dataDir}`
    )
  }
  return "empty" as const
})

/** Removes temporary directories of initdb runs that were killed. */
export const removeInitdbLeftovers = (dataDir: string, user: ServerUser) =>
  Effect.promise(() =>
    removeLeftovers(Path.dirname(dataDir), initdbPrefix(dataDir), [ownUid(user), process.getuid?.() ?? -1]).catch(
      () => undefined
    )
  )

const syncDirectory = async (dir: string) => {
  const handle = await Fs.open(dir, "r")
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Creates the data directory: initdb into a temporary directory next to it (with the superuser's password
 * and our access rules), then one rename. Interrupted or failed, it removes what it made.
 */
export const initialize = Effect.fn("EmbeddedPostgres.initialize")(function*(
  bin: Binaries,
  dataDir: string,
  user: ServerUser,
  options: { readonly durable: boolean }
) {
  const failure = (step: "directory" | "initdb", fix: string) => (cause: unknown) =>
    new EmbeddedPostgresError({ step, dataDir, reason: reasonOf(cause), fix })
  const parent = Path.dirname(dataDir)
  const temporary = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        await makeDirectories(parent, user)
        const temporary = await Fs.mkdtemp(Path.join(parent, `${initdbPrefix(dataDir)}${process.pid}-`))
        if (user.switchTo !== undefined) await Fs.chown(temporary, user.switchTo.uid, user.switchTo.gid)
        return temporary
      },
      catch: failure("directory", `make ${parent} writable, or set AI_PROVIDER_SEED_DATA_DIR elsewhere`)
    }),
    (temporary) => Effect.promise(() => Fs.rm(temporary, { recursive: true, force: true }))
  )
  const staged = Path.join(temporary, "data")
  const password = generatePassword()
  // initdb reads the password from a file; it lives only in the temporary directory, removed below.
  yield* Effect.tryPromise({
    try: () => writePrivateFile(temporary, "pwfile", `${password}\n`, user),
    catch: failure("directory", `make ${parent} writable`)
  })
  yield* run(
    command(user, "SIGKILL", bin.initdb, [
      `--pgdata=${staged}`,
      `--username=${superuser}`,
      "--auth=scram-sha-256",
      `--pwfile=${Path.join(temporary, "pwfile")}`,
      "--encoding=UTF8",
      "--locale=C",
      ...(options.durable ? [] : ["--no-sync"])
    ]),
    { timeout: Duration.minutes(2), env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } }
  ).pipe(Effect.mapError(failure("initdb", "see initdb's message above; the next run starts over")))
  yield* Effect.tryPromise({
    try: async () => {
      await writePrivateFile(staged, passwordFileName, password, user)
      await writePrivateFile(staged, hbaFileName, hbaRules, user)
      await Fs.rename(staged, dataDir).catch((error: NodeJS.ErrnoException) => {
        // Another run initialized it first: use theirs.
        if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error
      })
      if (options.durable) await syncDirectory(parent)
    },
    catch: failure(
      "directory",
      `make ${parent} writable; a data directory that is a mount point cannot be replaced, use a directory inside it`
    )
  })
}, Effect.scoped)
