/**
 * A command of the command line with its context (`commandContext`): a failure to build it is the
 * command's failure. Apart from CommandContext.ts, which a bare `seed` loads without @effect/cli.
 */
import { Command } from "@effect/cli"
import { commandContext, type ContextOptions } from "./CommandContext.js"

export const withCommandContext = <Name extends string, R, E, A extends ContextOptions>(
  command: Command.Command<Name, R, E, A>
) => Command.provide(command, commandContext)
