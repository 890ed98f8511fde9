import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { Migrations } from "../db/Migrations.js"
import { withDatabase } from "./CommandContext.js"
import { commonOptions, databaseUrl, lockTimeout } from "./CommonOptions.js"
import { withCommandContext } from "./WithCommandContext.js"

/** `migrate`: apply the schema migrations that ship with the program, and nothing else. */
export const migrateCommand = Command.make(
  "migrate",
  { databaseUrl, lockTimeout, ...commonOptions },
  (options) =>
    Effect.flatMap(Migrations, (migrations) => migrations.migrate({ lockTimeout: options.lockTimeout })).pipe(
      Effect.flatMap((applied) =>
        Console.log(
          applied.length === 0
            ? "The schema is up to date."
            : `Applied ${applied.map(([id, name]) => `${id}_${name}`).join(", ")}.`
        )
      ),
      withDatabase(options, Migrations.Default)
    )
).pipe(
  withCommandContext,
  Command.withDescription("Apply the database migrations (safe to run from many processes at once)")
)
