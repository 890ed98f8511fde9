/**
 * Who runs PostgreSQL, and how its programs are started. PostgreSQL refuses to run as root: as root we run
 * it as the `postgres` user (created if needed). Every program is started through `setpriv` when it is
 * there, which switches the user (as root) and sets a parent-death signal, so that the server dies with
 * the program even when the program is SIGKILLed. The kernel clears that signal on a credential change;
 * setpriv (util-linux 2.38) sets it after switching: EmbeddedPostgresRecovery.test.ts checks it as root.
 */
import { Duration, Effect } from "effect"
import { spawn, type SpawnOptions } from "node:child_process"
import { existsSync } from "node:fs"
import { EmbeddedPostgresError } from "./Errors.js"

export interface ServerUser {
  readonly name: string
  /** Set when we are root and switch to `name` for every server program. */
  readonly switchTo?: { readonly uid: number; readonly gid: number }
}

const serverUserName = "postgres"

/** util-linux's setpriv: found at a fixed place, never through PATH. */
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => existsSync(path))

export interface Command {
  readonly file: string
  readonly args: ReadonlyArray<string>
  readonly options: Pick<SpawnOptions, "uid" | "gid">
}

/** `file args` run as the server user, sent `deathSignal` when this process dies (where the platform allows). */
export const command = (
  user: ServerUser,
  deathSignal: NodeJS.Signals,
  file: string,
  args: ReadonlyArray<string>
): Command => {
  const as = user.switchTo
  if (setpriv === undefined) return { file, args, options: as === undefined ? {} : { uid: as.uid, gid: as.gid } }
  const switchArgs = as === undefined
    ? []
    : ["--reuid", String(as.uid), "--regid", String(as.gid), "--clear-groups"]
  return {
    file: setpriv,
    args: ["--pdeathsig", deathSignal.replace(/^SIG/, ""), ...switchArgs, "--", file, ...args],
    options: {}
  }
}

export interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a command to its end, killed if it takes longer than `timeout` or if the fiber is interrupted.
 * Fails with the reason (its stderr, else how it ended) when it exits non-zero.
 */
export const run = (
  command: Command,
  options: { readonly timeout: Duration.DurationInput; readonly input?: string; readonly env?: NodeJS.ProcessEnv }
) =>
  Effect.async<Finished, string>((resume) => {
    const child = spawn(command.file, command.args, {
      ...command.options,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...(options.env ?? process.env), LC_MESSAGES: "C" }
    })
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (chunk: Buffer) => (stdout = (stdout + chunk.toString("utf8")).slice(-8000)))
    child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-8000)))
    child.once("error", (error) => resume(Effect.fail(error.message)))
    child.once("close", (code, signal) => {
      const finished = { code, stdout, stderr }
      resume(
        code === 0
          ? Effect.succeed(finished)
          : Effect.fail(stderr.trim() || (signal === null ? `exited with code ${code}` : `killed by ${signal}`))
      )
    })
    child.stdin?.on("error", () => undefined)
    child.stdin?.end(options.input ?? "")
    return Effect.sync(() => child.kill("SIGKILL"))
  }).pipe(
    Effect.timeoutFail({
      duration: options.timeout,
      onTimeout: () => `did not finish within ${Duration.format(Duration.decode(options.timeout))}`
    })
  )

const idOf = (flag: "-u" | "-g") =>
  run({ file: "id", args: [flag, serverUserName], options: {} }, { timeout: Duration.seconds(10) }).pipe(
    Effect.map((finished) => Number(finished.stdout.trim()))
  )

/** As root, the `postgres` user (created when missing); else ourselves. */
export const serverUser = Effect.fn("EmbeddedPostgres.serverUser")(function*(dataDir: string) {
  if (process.getuid?.() !== 0) return { name: process.env["USER"] ?? "the current user" } satisfies ServerUser
  return yield* Effect.all({ uid: idOf("-u"), gid: idOf("-g") }).pipe(
    Effect.orElse(() =>
      run(
        { file: "useradd", args: ["--system", "--user-group", "--no-create-home", serverUserName], options: {} },
        { timeout: Duration.seconds(30) }
      ).pipe(Effect.zipRight(Effect.all({ uid: idOf("-u"), gid: idOf("-g") })))
    ),
    Effect.map((switchTo) => ({ name: serverUserName, switchTo })),
    Effect.mapError((reason) =>
      new EmbeddedPostgresError({
        step: "user",
        dataDir,
        reason: `cannot find or create the "${serverUserName}" user to run PostgreSQL as (it refuses root): ${reason}`,
        fix: `create it (useradd --system --user-group ${serverUserName}), or run as an ordinary user`
      })
    )
  )
})

/** Whether the server user can reach (search) `directory` and all its parents. */
export const canReach = (user: ServerUser, directory: string) =>
  user.switchTo === undefined
    ? Effect.succeed(true)
    : run(command(user, "SIGKILL", "test", ["-x", directory]), { timeout: Duration.seconds(10) }).pipe(
      Effect.as(true),
      Effect.orElseSucceed(() => false)
    )
