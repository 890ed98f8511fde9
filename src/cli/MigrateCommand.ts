import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { migrate } from "../db/Migrations.js"
import { envFile } from "./CommonOptions.js"
import { databaseUrl, withDatabase } from "./DatabaseOptions.js"
import { logFormat } from "./Logging.js"

/** `migrate`: apply the schema migrations that ship with the program, and nothing else. */
export const migrateCommand = Command.make("migrate", { databaseUrl, envFile, logFormat }, (options) =>
  migrate.pipe(
    Effect.flatMap((applied) =>
      Console.log(
        applied.length === 0
          ? "The schema is up to date."
          : `Applied ${applied.map(([id, name]) => `${id}_${name}`).join(", ")}.`
      )
    ),
    withDatabase(options)
  )).pipe(Command.withDescription("Apply the database migrations (safe to run from many processes at once)"))
