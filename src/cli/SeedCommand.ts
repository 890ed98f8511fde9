/** `seed` on the command line: its options, parsed by @effect/cli, and its help; the work is SeedRun.ts. */
import { Command, Options } from "@effect/cli"
import { Config } from "effect"
import type { ConflictPolicy } from "../seed/Seeder.js"
import { onConflictVariable } from "./BareSeed.js"
import { databaseOptions, format } from "./CommonOptions.js"
import { exitCodeHelp } from "./ExitCode.js"
import { runSeed } from "./SeedRun.js"

const dryRun = Options.boolean("dry-run").pipe(
  Options.withDescription("Take the lock, read and decide as usual, then roll back: report what would happen")
)

const onConflict = Options.choice("on-conflict", ["fail", "warn"]).pipe(
  Options.withFallbackConfig(Config.literal("fail", "warn")(onConflictVariable)),
  Options.withDefault("fail" as ConflictPolicy),
  Options.withDescription(
    `fail (default): a provider that differs from the database stops the run (exit 3). warn: leave it untouched, report it as conflict, seed the rest and exit 0. Also ${onConflictVariable}`
  )
)

export const seedOptions = { dryRun, onConflict, format, ...databaseOptions }

/** `seed`, the main job: migrate, then reconcile the environment's providers with the database. */
export const seedCommand = Command.make("seed", seedOptions, runSeed).pipe(
  Command.withDescription(
    `Migrate the database, then insert the AI providers the environment describes and that are missing. ${exitCodeHelp()}`
  )
)
