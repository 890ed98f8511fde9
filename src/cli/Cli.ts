import { Command } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect } from "effect"
import { InvalidConfiguration } from "../core/Errors.js"
import { configCommand } from "./ConfigCommand.js"
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
 * The program reaches it through Program.ts, which runs a bare `seed` without it. The command line needs
 * the Node services (files, paths, the terminal); a bare `seed` none of them.
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
    : runCommand(argv).pipe(Effect.provide(NodeContext.layer))
