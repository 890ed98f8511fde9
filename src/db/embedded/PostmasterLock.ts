/**
 * Who holds a data directory: PostgreSQL's own lock file (postmaster.pid) names the server, and the server
 * we start carries its owner's pid in its environment. A server whose parent is no longer that owner was
 * left by a dead run (SIGKILL, OOM killer) and is stopped, gently (fast shutdown: nothing is lost); one
 * whose owner lives is another run's, and this run stops with a clear error instead.
 */
import { Duration, Effect, Schedule } from "effect"
import { readFileSync, realpathSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { EmbeddedPostgresError } from "./Errors.js"
import { argumentsOf, environmentOf, isAlive, parentOf, processesWorkingIn, workingDirectoryOf } from "./Processes.js"

/** The environment variable that names the server's owner (this program's pid). */
export const ownerVariable = "AI_PROVIDER_SEED_OWNER"

const lockFileName = "postmaster.pid"

/** The lock file's lines: pid (negative for a single-user backend), data directory, start time, port, ... status. */
export const lockFileLines = (dataDir: string): ReadonlyArray<string> | undefined => {
  try {
    return readFileSync(Path.join(dataDir, lockFileName), "utf8").split("\n")
  } catch {
    return undefined
  }
}

/** A live server of another run, or one this program did not start (no owner in its environment). */
export type LiveHolder =
  | { readonly _tag: "Owned"; readonly pid: number; readonly owner: number }
  | { readonly _tag: "Foreign"; readonly pid: number }

export type Holder =
  | LiveHolder
  | { readonly _tag: "None" }
  /** The file names a process that is gone, or one that does not work in this directory (a reused pid). */
  | { readonly _tag: "Stale"; readonly pid: number }
  | { readonly _tag: "Orphan"; readonly pid: number; readonly owner: number }

const realPath = (path: string) => {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

export const holderOf = (dataDir: string): Holder => {
  const lines = lockFileLines(dataDir)
  if (lines === undefined) return { _tag: "None" }
  const pid = Math.abs(Number(lines[0]))
  // PostgreSQL works in its data directory: /proc shows the real path.
  if (!isAlive(pid) || workingDirectoryOf(pid) !== realPath(dataDir)) return { _tag: "Stale", pid }
  const owner = Number(environmentOf(pid, ownerVariable))
  if (!Number.isInteger(owner) || owner <= 0) return { _tag: "Foreign", pid }
  return parentOf(pid) === owner ? { _tag: "Owned", pid, owner } : { _tag: "Orphan", pid, owner }
}

/** The error for a data directory another live server uses. */
export const inUse = (dataDir: string, holder: LiveHolder) =>
  new EmbeddedPostgresError({
    step: "start",
    dataDir,
    reason: holder._tag === "Owned"
      ? `the data directory is in use by another ai-provider-seed run (pid ${holder.owner}, its server has pid ${holder.pid})`
      : `the data directory is in use by a PostgreSQL server that ai-provider-seed did not start (pid ${holder.pid})`,
    fix: holder._tag === "Owned"
      ? "wait for that run to end, or give this one its own AI_PROVIDER_SEED_DATA_DIR"
      : `stop that server (kill -INT ${holder.pid}), then run again`
  })

const gone = (pid: number, within: Duration.DurationInput) =>
  Effect.sync(() => !isAlive(pid)).pipe(
    Effect.repeat({ schedule: Schedule.spaced(Duration.millis(50)), until: (dead) => dead }),
    Effect.timeoutTo({ duration: within, onSuccess: () => true, onTimeout: () => false })
  )

/** PostgreSQL's processes in the directory: the postmaster (its path) and backends (titled "postgres: ..."). */
const postgresWorkingIn = (dataDir: string) =>
  processesWorkingIn(realPath(dataDir)).filter((pid) =>
    Path.basename(argumentsOf(pid)?.[0] ?? "").startsWith("postgres")
  )

/**
 * Makes the data directory free for a new server, or fails: stops a server left by a dead run, removes a
 * lock file whose pid now names an unrelated process (PostgreSQL would refuse to start), and refuses a
 * server with a live owner or no owner of ours. Never touches the data.
 */
export const recover = Effect.fn("EmbeddedPostgres.recover")(function*(dataDir: string) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const holder = holderOf(dataDir)
    switch (holder._tag) {
      case "None":
        return
      case "Owned":
      case "Foreign":
        return yield* inUse(dataDir, holder)
      case "Stale": {
        // A dead postmaster's backends leave once they notice; until then the directory is in use.
        const busy = yield* Effect.sync(() => postgresWorkingIn(dataDir)).pipe(
          Effect.repeat({ schedule: Schedule.spaced(Duration.millis(100)), until: (pids) => pids.length === 0 }),
          Effect.timeoutTo({
            duration: Duration.seconds(30),
            onSuccess: () => [],
            onTimeout: () => postgresWorkingIn(dataDir)
          })
        )
        if (busy.length > 0) {
          return yield* new EmbeddedPostgresError({
            step: "recover",
            dataDir,
            reason: `PostgreSQL processes left by a dead server still use the data directory (pids ${busy.join(", ")})`,
            fix: `stop them (kill -QUIT ${busy.join(" ")}), then run again`
          })
        }
        // PostgreSQL removes a lock file whose pid is gone, but not one whose pid was reused (or is a zombie).
        if (listed(holder.pid)) {
          yield* Effect.logWarning("removing a stale postmaster.pid (its pid names another process now)").pipe(
            Effect.annotateLogs({ dataDir, pid: holder.pid })
          )
          yield* Effect.promise(() => Fs.rm(Path.join(dataDir, lockFileName), { force: true }))
        }
        return
      }
      case "Orphan": {
        yield* Effect.logWarning("stopping the embedded PostgreSQL left running by a run that died").pipe(
          Effect.annotateLogs({ dataDir, pid: holder.pid, owner: holder.owner })
        )
        // Fast shutdown: clients are disconnected, the data is checkpointed. Immediate shutdown if it hangs.
        yield* signal(holder.pid, "SIGINT")
        if (!(yield* gone(holder.pid, Duration.seconds(30)))) {
          yield* signal(holder.pid, "SIGQUIT")
          if (!(yield* gone(holder.pid, Duration.seconds(15)))) {
            return yield* new EmbeddedPostgresError({
              step: "recover",
              dataDir,
              reason: `the server left by a dead run (pid ${holder.pid}) did not stop within 45 s`,
              fix: `stop it (kill -KILL ${holder.pid}), then run again`
            })
          }
        }
      }
    }
  }
  return yield* new EmbeddedPostgresError({
    step: "recover",
    dataDir,
    reason: "its lock file kept naming a new server while older ones were stopped",
    fix: "stop every PostgreSQL server using the data directory, then run again"
  })
})

/** Whether /proc lists the pid at all (alive or a zombie). */
const listed = (pid: number) => {
  try {
    readFileSync(`/proc/${pid}/stat`)
    return true
  } catch {
    return false
  }
}

/** A process that is already gone needs no signal. */
const signal = (pid: number, name: NodeJS.Signals) =>
  Effect.sync(() => {
    try {
      process.kill(pid, name)
    } catch {
      // Gone in the meantime: what we wanted.
    }
  })
