/**
 * Helpers for tests of the embedded server: data directories, its lock file, polling for explicit states,
 * connections as its owner, and the program started in a chosen working directory.
 */
import { Cause, Context, Effect, Exit, Layer, Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import Pg from "pg"
import { passwordFileName } from "../../src/db/embedded/Credentials.js"
import { lockFileLines } from "../../src/db/embedded/PostmasterLock.js"
import { EmbeddedPostgres } from "../../src/db/EmbeddedPostgres.js"
import { baseEnvironment, root } from "./Program.js"

export const isRoot = process.getuid?.() === 0

/** A fresh directory the server user can pass through (mkdtemp gives 0700). */
export const reachableTempDir = async (prefix: string) => {
  const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), prefix))
  await Fs.chmod(dir, 0o755)
  return dir
}

export const remove = (path: string) => Fs.rm(path, { recursive: true, force: true })

/** `reachableTempDir` for Effect tests: removed when the scope closes, whether the test passes or fails. */
export const scopedTempDir = (prefix: string) =>
  Effect.acquireRelease(Effect.promise(() => reachableTempDir(prefix)), (dir) => Effect.promise(() => remove(dir)))

/**
 * Polls `check` until it returns something other than `undefined`, for at most `limitMs`; fails naming
 * `what` when it never does. For explicit states (a line in a file, a lock in pg_locks), never for time.
 */
export const until = async <A>(
  what: string,
  check: () => A | undefined | Promise<A | undefined>,
  limitMs = 90_000,
  intervalMs = 20
): Promise<A> => {
  const deadline = Date.now() + limitMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

export interface Postmaster {
  readonly pid: number
  readonly port: number
  readonly status: string
}

/** The server named by the data directory's lock file, once it is a real server (not initdb's bootstrap). */
export const postmasterOf = (dataDir: string): Postmaster | undefined => {
  const lines = lockFileLines(dataDir)
  const pid = Number(lines?.[0])
  return lines === undefined || !(pid > 0) || lines.length < 8
    ? undefined
    : { pid, port: Number(lines[3]), status: lines[7]?.trim() ?? "" }
}

/** A loopback port nobody listens on right now. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

export const passwordOf = (dataDir: string) => readFileSync(Path.join(dataDir, passwordFileName), "utf8").trim()

/** A session as the server's owner (with the password in its data directory); errors after it ends are ignored. */
export const ownerClient = async (dataDir: string, port: number) => {
  const client = new Pg.Client({
    host: "127.0.0.1",
    port,
    user: "postgres",
    database: "postgres",
    password: passwordOf(dataDir)
  })
  client.on("error", () => undefined)
  await client.connect()
  return client
}

/** Starts the embedded server on a persistent data directory (initializing it if needed) until `stop`. */
export const startServer = async (dataDir: string) => {
  const scope = Effect.runSync(Scope.make())
  const exit = await Effect.runPromiseExit(
    Layer.buildWithScope(EmbeddedPostgres.layer({ mode: "persistent", dataDir }), scope).pipe(
      Effect.map(Context.get(EmbeddedPostgres))
    )
  )
  if (Exit.isFailure(exit)) {
    await Effect.runPromise(Scope.close(scope, exit))
    throw new Error(`the embedded server did not start: ${Cause.pretty(exit.cause)}`)
  }
  return { ...exit.value, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

export const seedLockId = 10

/**
 * Leaves the data directory with a prepared transaction that holds the seed lock: it survives restarts,
 * so a seed started later waits for it from its first attempt. The state is explicit, not a race.
 */
export const holdSeedLockAcrossStarts = async (dataDir: string) => {
  const first = await startServer(dataDir)
  await first.stop()
  await Fs.appendFile(Path.join(dataDir, "postgresql.conf"), "\nmax_prepared_transactions = 4\n")
  const server = await startServer(dataDir)
  const client = await ownerClient(dataDir, server.port)
  try {
    await client.query("begin")
    await client.query("select pg_advisory_xact_lock($1)", [seedLockId])
    await client.query("prepare transaction 'ai-provider-seed-test-hold'")
  } finally {
    await client.end()
    await server.stop()
  }
}

/** Whether a session waits for the seed lock (the seed, blocked by the prepared transaction). */
export const seedWaitsForLock = async (client: Pg.Client) => {
  const { rows } = await client.query<{ waiting: boolean }>(
    "select exists(select 1 from pg_locks where locktype = 'advisory' and objid = $1 and not granted) as waiting",
    [seedLockId]
  )
  return rows[0]?.waiting === true ? true : undefined
}

/**
 * Waits until the program's own embedded server (in `dataDir`) is ready and its seed waits for the seed
 * lock (held by `holdSeedLockAcrossStarts`): the state in which a test signals or kills it. Returns the
 * server's postmaster.
 */
export const untilSeedWaitsForLock = async (program: ChildProcess, dataDir: string) => {
  const server = await until("the program's server is ready", () => {
    if (program.exitCode !== null) throw new Error(`the program exited ${program.exitCode} before its server was ready`)
    const postmaster = postmasterOf(dataDir)
    return postmaster?.status === "ready" ? postmaster : undefined
  })
  const observer = await ownerClient(dataDir, server.port)
  try {
    await until("the seed waits for the seed lock", () => seedWaitsForLock(observer))
  } finally {
    await observer.end().catch(() => undefined)
  }
  return server
}

const tsxLoader = pathToFileURL(Path.join(root, "node_modules/tsx/dist/loader.mjs")).href

/** The program, started in `cwd` (Program.start always uses the checkout). */
export const startIn = (
  cwd: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>
): ChildProcess =>
  spawn(process.execPath, ["--import", tsxLoader, Path.join(root, "src/bin.ts"), ...args], {
    cwd,
    env: { ...baseEnvironment(), ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
