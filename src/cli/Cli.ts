import type { CliApp } from "@effect/cli"
import { Command } from "@effect/cli"
import { ValidationError } from "@effect/cli"
import { Cause, Console, Effect, Exit } from "effect"
import { configCommand } from "./ConfigCommand.js"
import { ExitCode, exitCodeForCause } from "./ExitCode.js"

/** Subcommands of `ai-provider-seed`; a new one is added to this list. */
export const rootCommand = Command.make("ai-provider-seed").pipe(
  Command.withDescription("Reconcile AI provider configuration from the environment with PostgreSQL"),
  Command.withSubcommands([configCommand])
)

/** Runs the command line; `argv` is `process.argv`-shaped (runtime and script first). */
export const run = Command.run(rootCommand, { name: "ai-provider-seed", version: "0.1.0" })

/**
 * Runs the command line in-process and returns the exit code instead of exiting, so
 * tests can run it with their own ConfigProvider, Console and Logger. A failure's
 * message goes to stderr; CLI usage errors were already printed by @effect/cli.
 */
export const runToExitCode = (argv: ReadonlyArray<string>): Effect.Effect<ExitCode, never, CliApp.CliApp.Environment> =>
  run(argv).pipe(
    Effect.exit,
    Effect.flatMap((exit) => {
      if (Exit.isSuccess(exit)) return Effect.succeed(ExitCode.Success)
      const failure = Cause.failureOption(exit.cause)
      const report = failure._tag === "Some"
        ? ValidationError.isValidationError(failure.value) ? Effect.void : Console.error(describe(failure.value))
        : Console.error(`Unexpected error: ${Cause.pretty(exit.cause)}`)
      return Effect.as(report, exitCodeForCause(exit.cause))
    })
  )

const describe = (error: unknown): string => error instanceof Error ? error.message : String(error)
