/** Runs the command line in-process with a given environment, capturing stdout, stderr and log lines. */
import { NodeContext } from "@effect/platform-node"
import type { Console } from "effect"
import { Effect, Logger } from "effect"
import { runToExitCode } from "../../src/cli/Program.js"
import { fromVariables } from "../../src/env/IndexedConfigProvider.js"
import { encryptionEnvironment } from "./TestEncryption.js"

export interface CliOutcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly logs: string
  /** Everything the run printed or logged, for "no secret anywhere" assertions. */
  readonly all: string
}

const capturingConsole = (stdout: Array<string>, stderr: Array<string>): Console.Console => {
  const text = (args: ReadonlyArray<unknown>) => args.map(String).join(" ")
  const out = (...args: ReadonlyArray<unknown>) => void stdout.push(text(args))
  const err = (...args: ReadonlyArray<unknown>) => void stderr.push(text(args))
  const ignore = () => {}
  const unsafe: Console.UnsafeConsole = {
    assert: ignore,
    clear: ignore,
    count: ignore,
    countReset: ignore,
    debug: err,
    dir: out,
    dirxml: out,
    error: err,
    group: ignore,
    groupCollapsed: ignore,
    groupEnd: ignore,
    info: out,
    log: out,
    table: out,
    time: ignore,
    timeEnd: ignore,
    timeLog: ignore,
    trace: err,
    warn: err
  }
  const lift = <A extends ReadonlyArray<unknown>>(f: (...args: A) => void) => (...args: A) =>
    Effect.sync(() => f(...args))
  return {
    [Symbol.for("effect/Console") as Console.TypeId]: Symbol.for("effect/Console") as Console.TypeId,
    assert: lift(ignore),
    clear: Effect.void,
    count: lift(ignore),
    countReset: lift(ignore),
    debug: lift(err),
    dir: lift(out),
    dirxml: lift(out),
    error: lift(err),
    group: lift(ignore),
    groupEnd: Effect.void,
    info: lift(out),
    log: lift(out),
    table: lift(out),
    time: lift(ignore),
    timeEnd: lift(ignore),
    timeLog: lift(ignore),
    trace: lift(err),
    warn: lift(err),
    unsafe
  }
}

export const runCli = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) =>
  Effect.gen(function*() {
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const logs: Array<string> = []
    const logger = Logger.map(Logger.logfmtLogger, (line) => void logs.push(line))
    const code = yield* runToExitCode(["node", "ai-provider-seed", ...args]).pipe(
      Effect.withConsole(capturingConsole(stdout, stderr)),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      // As src/bin.ts does: `fromMap` makes the walk over many indexed variables quadratic.
      Effect.withConfigProvider(fromVariables(Object.entries({ ...encryptionEnvironment, ...env }))),
      Effect.provide(NodeContext.layer)
    )
    const [out, err, log] = [stdout.join("\n"), stderr.join("\n"), logs.join("\n")]
    return { code, stdout: out, stderr: err, logs: log, all: [out, err, log].join("\n") } satisfies CliOutcome
  })
