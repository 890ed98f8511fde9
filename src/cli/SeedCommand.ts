import { Command, Options } from "@effect/cli"
import { Array as Arr, Config, Console, Effect, Ref } from "effect"
import { HashConflict } from "../core/Errors.js"
import type { DesiredSet } from "../core/Provider.js"
import { Encryption } from "../crypto/Encryption.js"
import { encryptionState } from "../crypto/EncryptionState.js"
import { derive } from "../env/DesiredProviders.js"
import { type ConflictPolicy, nothingToSeed, Seeder } from "../seed/Seeder.js"
import { SeedReport } from "../seed/SeedReport.js"
import { commandContext, withDatabase } from "./CommandContext.js"
import { databaseOptions, format } from "./CommonOptions.js"
import { exitCodeHelp } from "./ExitCode.js"
import { print } from "./Output.js"
import { failedReport, interruptedReport, seedText } from "./SeedReportText.js"

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

/**
 * A plan that holds a conflict exits 3 (after printing it), so a pipeline can gate a deploy on it; with
 * `--on-conflict warn` a conflict would not stop the run, so it does not stop the plan either.
 */
const blocked = (report: SeedReport, policy: ConflictPolicy) => {
  if (policy === "warn") return Effect.void
  const conflicts = report.providers.flatMap((provider) =>
    report.outcome === "planned" && provider.action === "conflict"
      ? [{ provider: provider.name, differences: provider.differences }]
      : []
  )
  return Arr.isNonEmptyReadonlyArray(conflicts) ? Effect.fail(HashConflict.of(conflicts)) : Effect.void
}

/** `seed`, the main job: migrate, then reconcile the environment's providers with the database. */
export const seedCommand = Command.make(
  "seed",
  { dryRun, onConflict, format, ...databaseOptions },
  (options) =>
    Effect.gen(function*() {
      const derived = yield* Ref.make<DesiredSet | undefined>(undefined)
      const seedOptions = { dryRun: options.dryRun, lockTimeout: options.lockTimeout, onConflict: options.onConflict }
      // The environment is validated before the database is chosen, started or connected to.
      const run = derive.pipe(
        Effect.tap((desired) => Ref.set(derived, desired)),
        Effect.flatMap((desired) =>
          desired.providers.length === 0
            ? Effect.flatMap(Encryption, (keys) => nothingToSeed(desired, seedOptions, encryptionState(keys)))
            : Effect.flatMap(Seeder, (seeder) => seeder.seed(desired, seedOptions)).pipe(withDatabase(options))
        ),
        // Provided here rather than with `withCommandContext`: a bad env file or encryption key fails
        // inside the run, so it gets the JSON report too.
        Effect.provide(commandContext(options))
      )
      return yield* run.pipe(
        // The JSON report is also printed on failure and interruption, for tools; people get the error on stderr.
        Effect.tapError((error) =>
          options.format === "json"
            ? Effect.flatMap(
              Ref.get(derived),
              (desired) => Console.log(JSON.stringify(failedReport(error, desired), null, 2))
            )
            : Effect.void
        ),
        Effect.onInterrupt(() =>
          options.format === "json" ? Console.log(JSON.stringify(interruptedReport, null, 2)) : Effect.void
        ),
        Effect.flatMap((report) =>
          Effect.zipRight(
            print(SeedReport, options.format, seedText(options.onConflict))(report),
            blocked(report, options.onConflict)
          )
        )
      )
    })
).pipe(
  Command.withDescription(
    `Migrate the database, then insert the AI providers the environment describes and that are missing. ${exitCodeHelp()}`
  )
)
