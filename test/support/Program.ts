/**
 * The standalone program as a child process, the way operators run it: the installed command,
 * bin/ai-provider-seed.cjs, which runs the bundle (dist/program/, code-cached). Always the bundle, never
 * the sources: the test setup (globalSetup.ts) rebuilds it first when any of its sources changed, so
 * the CLI tests prove what ships.
 */
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { encryptionEnvironment } from "./TestEncryption.js"

export const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../..")

export interface ProgramResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** A clean environment: only what the test gives, plus what node needs to run and the run's encryption keys. */
export const baseEnvironment = (): Record<string, string> => ({
  PATH: process.env["PATH"] ?? "",
  HOME: process.env["HOME"] ?? "/tmp",
  ...encryptionEnvironment
})

export const start = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>>): ChildProcess =>
  spawn(process.execPath, [Path.join(root, "bin/ai-provider-seed.cjs"), ...args], {
    cwd: root,
    env: { ...baseEnvironment(), ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })

export const completion = (child: ChildProcess): Promise<ProgramResult> =>
  new Promise((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
    child.once("error", reject)
    child.once("close", (code) => resolve({ code, stdout, stderr }))
  })

export const runProgram = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) =>
  completion(start(args, env))

/** The real program, bounded: a run that hangs fails the test instead of blocking it. */
export const runBounded = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) =>
  Effect.promise(() => runProgram(args, env)).pipe(
    Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`${args.join(" ")} did not end`) })
  )
