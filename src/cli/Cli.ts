import { Command, ValidationError } from "@effect/cli"
import { Cause, Console, Effect, Exit, Option } from "effect"
import { InvalidConfiguration } from "../core/Errors.js"
import { maskUrlsIn } from "../core/UrlMask.js"
import { configCommand } from "./ConfigCommand.js"
import { ExitCode, exitCodeForCause } from "./ExitCode.js"
import { keysCommand } from "./KeysCommand.js"
import { migrateCommand } from "./MigrateCommand.js"
import { providersCommand } from "./ProvidersCommand.js"
import { seedCommand } from "./SeedCommand.js"

/** `ai-provider-seed` and its subcommands; a new subcommand is added to this list. */
export const rootCommand = Command.make("ai-provider-seed").pipe(
  Command.withDescription("Reconcile AI provider configuration from the environment with PostgreSQL"),
  Command.withSubcommands([seedCommand, configCommand, migrateCommand, providersCommand, keysCommand])
)

const runCommand = Command.run(rootCommand, { name: "ai-provider-seed", version: "0.1.0" })

/**
 * Runs the command line; `argv` is `process.argv`-shaped (runtime and script first). The built-in
 * `--wizard` asks its questions on a terminal: without one it would wait forever, so it is refused.
 */
export const run = (argv: ReadonlyArray<string>) =>
  argv.includes("--wizard") && process.stdin.isTTY !== true
    ? Effect.fail(
      new InvalidConfiguration({
        variables: ["--wizard"],
        rule: "the wizard asks its questions on a terminal, and standard input is not one",
        fix: "run a command with its options instead (`ai-provider-seed --help` lists them)"
      })
    )
    : runCommand(argv)

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
      onSome: (error) => ValidationError.isValidationError(error) ? Effect.void : Console.error(describe(error))
    })
    return Effect.as(report, exitCodeForCause(exit.cause))
  }))

/** The command line in-process, for tests: they provide the ConfigProvider, Console and Logger. */
export const runToExitCode = (argv: ReadonlyArray<string>) => toExitCode(run(argv))
