/**
 * What `seed` does with its options, apart from the command line that parses them: the program runs it
 * directly for a bare `seed` (see Program.ts), the `seed` command for every other command line.
 */
import { Array as Arr, Console, Duration, Effect, Option, type Redacted, Ref } from "effect"
import { HashConflict } from "../core/Errors.js"
import type { DesiredSet } from "../core/Provider.js"
import { Encryption } from "../crypto/Encryption.js"
import { encryptionState } from "../crypto/EncryptionState.js"
import { defaultLockTimeout } from "../db/AdvisoryLock.js"
import { derive } from "../env/DesiredProviders.js"
import { type ConflictPolicy, nothingToSeed, Seeder } from "../seed/Seeder.js"
import { SeedReport } from "../seed/SeedReport.js"
import { commandContext, withDatabase } from "./CommandContext.js"
import type { LogFormat } from "./CommonOptions.js"
import { print } from "./Output.js"
import { failedReport, interruptedReport, seedText } from "./SeedReportText.js"

export interface SeedRunOptions {
  readonly dryRun: boolean
  readonly onConflict: ConflictPolicy
  readonly format: "text" | "json"
  readonly envFile: Option.Option<string>
  readonly logFormat: LogFormat
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  readonly lockTimeout: Duration.Duration
}

/** `seed` without options: what the command line's defaults give (a unit test holds them equal). */
export const bareSeedOptions: SeedRunOptions = {
  dryRun: false,
  onConflict: "fail",
  format: "text",
  envFile: Option.none(),
  logFormat: "logfmt",
  databaseUrl: Option.none(),
  lockTimeout: Duration.decode(defaultLockTimeout)
}

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

/** Migrate, then reconcile the environment's providers with the database; prints the report. */
export const runSeed = (options: SeedRunOptions) =>
  Effect.gen(function*() {
    const derived = yield* Ref.make<DesiredSet | undefined>(undefined)
    const seedOptions = { dryRun: options.dryRun, lockTimeout: options.lockTimeout, onConflict: options.onConflict }
    // The environment is validated before the database is chosen, started or connected to.
    const run = derive.pipe(
      Effect.tap((desired) => Ref.set(derived, desired)),
      Effect.flatMap((desired) =>
        desired.providers.length === 0
          ? Effect.flatMap(Encryption, (keys) => nothingToSeed(desired, seedOptions, encryptionState(keys)))
          : Effect.flatMap(Seeder, (seeder) => seeder.seed(desired, seedOptions)).pipe(
            withDatabase(options, Seeder.Default)
          )
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
