import { Command, Options } from "@effect/cli"
import { Config, Console, Effect } from "effect"
import { ProviderEnvironment } from "../core/ProviderEnvironment.js"
import { type ConflictPolicy, deriveTraced, migrateAndSeedDesired } from "../seed/Seed.js"
import { envFile, format } from "./CommonOptions.js"
import { databaseLayer, databaseUrl, lockTimeout } from "./DatabaseOptions.js"
import { withEnvFile } from "./EnvFile.js"
import { logFormat, loggerLayer } from "./Logging.js"
import { failedReport, seedText } from "./SeedReportText.js"

const dryRun = Options.boolean("dry-run").pipe(
  Options.withDescription("Take the lock, read and decide as usual, then roll back: report what would happen")
)

const onConflict = Options.choice("on-conflict", ["fail", "warn"]).pipe(
  Options.withFallbackConfig(Config.literal("fail", "warn")("AI_PROVIDER_SEED_ON_CONFLICT")),
  Options.withDefault("fail" as ConflictPolicy),
  Options.withDescription(
    "fail (default): a provider that differs from the database stops the run (exit 3). warn: leave it untouched, report it as conflict, seed the rest and exit 0. Also AI_PROVIDER_SEED_ON_CONFLICT"
  )
)

const json = (value: unknown) => JSON.stringify(value, null, 2)

/** `seed`, the main job: migrate, then reconcile the environment's providers with the database. */
export const seedCommand = Command.make(
  "seed",
  { dryRun, onConflict, format, lockTimeout, databaseUrl, envFile, logFormat },
  (options) =>
    deriveTraced.pipe(
      Effect.provide(ProviderEnvironment.layer),
      // The environment is validated before the database is chosen, started or connected to.
      Effect.flatMap((desired) =>
        migrateAndSeedDesired(desired, {
          dryRun: options.dryRun,
          lockTimeout: options.lockTimeout,
          onConflict: options.onConflict
        }).pipe(
          Effect.provide(databaseLayer(options.databaseUrl))
        )
      ),
      Effect.flatMap((report) => Console.log(options.format === "json" ? json(report) : seedText(report))),
      // The JSON report is also printed on failure, for tools; people get the error on stderr.
      Effect.tapError((error) => options.format === "json" ? Console.log(json(failedReport(error))) : Effect.void),
      withEnvFile(options.envFile),
      Effect.provide(loggerLayer(options.logFormat))
    )
).pipe(Command.withDescription(
  "Migrate the database, then insert the AI providers the environment describes and that are missing. Exit codes: 0 ok, 2 invalid configuration, 3 HashConflict, 4 IndexedNameCollision, 5 LockTimeout, 6 database"
))
