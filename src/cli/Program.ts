/**
 * What the program runs for a command line, and the exit code it ends with.
 *
 * A bare `seed` is how servers start the program: its configuration is the environment. It runs
 * SeedRun.ts with the command line's defaults and does not load the command line (@effect/cli and every
 * other command), which was about a quarter of a no-op seed's start-up (bench/PROFILE.md, part 5).
 * Anything else (an option, another command, `--help`) goes through the command line, loaded then.
 */
import { FileSystem } from "@effect/platform"
import { Cause, Config, Console, Effect, Exit, Option } from "effect"
import { maskUrlsIn } from "../core/UrlMask.js"
import { isBareSeed, onConflictVariable } from "./BareSeed.js"
import { ExitCode, exitCodeForCause } from "./ExitCode.js"
import { bareSeedOptions, runSeed } from "./SeedRun.js"
import { isUsageError } from "./UsageError.js"

/** Runs a `process.argv`-shaped command line (runtime and script first). */
export const run = (argv: ReadonlyArray<string>) =>
  Effect.flatMap(
    Config.option(Config.string(onConflictVariable)),
    (onConflict) =>
      isBareSeed(argv, Option.isSome(onConflict))
        // Without an env file nothing is read from files, though the type asks for a file system: one with
        // no files, so that Node's is not even loaded.
        ? runSeed(bareSeedOptions).pipe(Effect.provide(FileSystem.layerNoop({})))
        : Effect.flatMap(Effect.promise(() => import("./Cli.js")), (cli) => cli.run(argv))
  )

const describe = (error: unknown): string => error instanceof Error ? error.message : String(error)

/**
 * Standard error with every URL masked: @effect/cli's usage errors quote the arguments they reject, and a
 * misplaced database URL is an argument with a password in it.
 */
const withMaskedUrls = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.consoleWith((console) =>
    Effect.withConsole(self, {
      ...console,
      error: (...args) => console.error(...args.map((arg) => typeof arg === "string" ? maskUrlsIn(arg) : arg))
    })
  )

/**
 * Prints why a run failed on stderr and returns its exit code instead of exiting.
 * Usage errors are not printed again: @effect/cli already did.
 */
export const toExitCode = <E, R>(self: Effect.Effect<void, E, R>): Effect.Effect<ExitCode, never, R> =>
  withMaskedUrls(Effect.flatMap(Effect.exit(self), (exit) => {
    if (Exit.isSuccess(exit)) return Effect.succeed(ExitCode.Success)
    const report = Option.match(Cause.failureOption(exit.cause), {
      // Interrupted by a signal: the command reported it (its JSON report), nothing more to say.
      onNone: () =>
        Cause.isInterruptedOnly(exit.cause)
          ? Effect.void
          : Console.error(`Unexpected error: ${Cause.pretty(exit.cause)}`),
      onSome: (error) => isUsageError(error) ? Effect.void : Console.error(describe(error))
    })
    return Effect.as(report, exitCodeForCause(exit.cause))
  }))

/** The command line in-process, for tests: they provide the ConfigProvider, Console and Logger. */
export const runToExitCode = (argv: ReadonlyArray<string>) => toExitCode(run(argv))
