/**
 * The server process: spawned quickly (so that its release is registered at once), then awaited
 * interruptibly until PostgreSQL says it is ready in its lock file, as pg_ctl does: with
 * `logging_collector = on` nothing reaches stderr, so waiting for a line there would never end.
 */
import { Duration, Effect, Schedule } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Path from "node:path"
import type { Binaries } from "./Binaries.js"
import { hbaFileName } from "./Credentials.js"
import { EmbeddedPostgresError } from "./Errors.js"
import { lockFileLines, ownerVariable } from "./PostmasterLock.js"
import { command, type ServerUser } from "./ServerUser.js"

export interface ServerProcess {
  readonly child: ChildProcess
  /** The last lines the server wrote on stderr (before a logging collector takes over). */
  readonly output: () => string
  /** Why it is not running, once it is not: its exit or a spawn error. */
  readonly ended: () => string | undefined
}

export const serverFlags = (dataDir: string, port: number, durable: boolean) => [
  "-D",
  dataDir,
  "-p",
  String(port),
  "-c",
  "listen_addresses=127.0.0.1",
  "-c",
  "unix_socket_directories=",
  "-c",
  `hba_file=${Path.join(dataDir, hbaFileName)}`,
  "-c",
  "password_encryption=scram-sha-256",
  ...(durable ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
]

/** Starts the server; it gets SIGINT (fast shutdown) if this process dies, and names us as its owner. */
export const spawnServer = (bin: Binaries, user: ServerUser, flags: ReadonlyArray<string>) =>
  Effect.sync((): ServerProcess => {
    const launch = command(user, "SIGINT", bin.postgres, flags)
    // Its own process group: a terminal's Ctrl-C reaches us, and we stop the server after the pool.
    const child = spawn(launch.file, launch.args, {
      ...launch.options,
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
      // Nothing of ours (provider keys, DATABASE_URL) goes to the server's environment.
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LC_MESSAGES: "C", [ownerVariable]: String(process.pid) }
    })
    let output = ""
    let ended: string | undefined
    // Keep reading stderr for as long as it runs, or the server blocks once the pipe is full.
    child.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString("utf8")).slice(-4000)))
    child.once("error", (error) => (ended = error.message))
    child.once(
      "exit",
      (code, signal) => (ended ??= signal === null ? `exited with code ${code}` : `killed by ${signal}`)
    )
    return { child, output: () => output, ended: () => ended }
  })

/** The reason PostgreSQL gave: its last lines, without the timestamp and pid prefix. */
export const lastWords = (output: string) =>
  output.split("\n")
    .map((line) => line.replace(/^\S+ \S+ \S+ \[\d+\] /, "").trim())
    .filter((line) => line !== "")
    .slice(-4)
    .join("; ")

/**
 * Waits until the lock file names this server, on this port, with status "ready"; fails when the server
 * exits first, or after `timeout`.
 */
export const awaitReady = Effect.fn("EmbeddedPostgres.awaitReady")(function*(
  server: ServerProcess,
  dataDir: string,
  port: number,
  timeout: Duration.Duration
) {
  let status = "no lock file yet"
  const check = Effect.suspend(() => {
    const ended = server.ended()
    if (ended !== undefined) {
      const words = lastWords(server.output())
      return Effect.fail(
        new EmbeddedPostgresError({
          step: "start",
          dataDir,
          reason: words === ""
            ? `the server ${ended} without a message on stderr (with logging_collector = on, see its log directory)`
            : words,
          fix: "correct what PostgreSQL reports (postgresql.conf, permissions, a port in use), then run again"
        })
      )
    }
    const lines = lockFileLines(dataDir)
    if (lines !== undefined && Number(lines[0]) === server.child.pid) status = lines[7]?.trim() || "starting"
    return Effect.succeed(
      lines !== undefined && Number(lines[0]) === server.child.pid && Number(lines[3]) === port &&
        lines[7]?.trim() === "ready"
    )
  })
  yield* check.pipe(
    Effect.repeat({ schedule: Schedule.spaced(Duration.millis(50)), until: (ready) => ready }),
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () =>
        new EmbeddedPostgresError({
          step: "start",
          dataDir,
          reason: `the server was not ready within ${Duration.format(timeout)} (its status: ${status})`,
          fix:
            "check the server's log and postgresql.conf (a standby never becomes ready); a busy machine may need a longer start timeout"
        })
    })
  )
})

const exited = (child: ChildProcess, within: Duration.DurationInput) =>
  Effect.async<boolean>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.succeed(true))
    const onExit = () => resume(Effect.succeed(true))
    child.once("exit", onExit)
    return Effect.sync(() => child.removeListener("exit", onExit))
  }).pipe(Effect.timeoutTo({ duration: within, onSuccess: () => true, onTimeout: () => false }))

/** Fast shutdown (SIGINT); immediate shutdown (SIGQUIT) if it hangs; SIGKILL as a last resort. Always bounded. */
export const stopServer = (server: ServerProcess) =>
  Effect.gen(function*() {
    const steps: ReadonlyArray<readonly [NodeJS.Signals, Duration.Duration]> = [
      ["SIGINT", Duration.seconds(15)],
      ["SIGQUIT", Duration.seconds(10)],
      ["SIGKILL", Duration.seconds(5)]
    ]
    for (const [signal, within] of steps) {
      if (server.child.exitCode !== null || server.child.signalCode !== null || server.child.pid === undefined) return
      server.child.kill(signal)
      if (yield* exited(server.child, within)) return
    }
  })
