/**
 * The standalone program. Each command picks its log format (`--log-format`, to stderr); the exit code
 * is the failure's (SPEC §7), mapped in one place.
 */
// First: a signal while the modules below load exits 130, like one during the run.
import { releaseEarlySignals } from "./cli/EarlySignals.js"
// Subpath imports: the package index loads every Node service (HTTP, sockets, workers) at startup.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Data, Effect, Exit } from "effect"
import { provideInterruptibly } from "./cli/CommandContext.js"
import { ExitCode } from "./cli/ExitCode.js"
import { run, toExitCode } from "./cli/Program.js"
import { ProcessExitsAfterRun } from "./db/Database.js"
import { fromVariables } from "./env/IndexedConfigProvider.js"
import * as Tracing from "./telemetry/Tracing.js"

/**
 * The exit code the run decided on. A signal that arrives once the run has nothing left to interrupt still
 * marks the fiber interrupted when it ends; the code the run printed its outcome for is the one to exit with.
 */
let decided: number | undefined

/**
 * Calls `then` once stdout and stderr have taken everything written to them before (pipes are asynchronous
 * on macOS), or after 10 s: a reader that takes nothing (a stopped pager) does not keep the process forever.
 */
const written = (then: () => void) => {
  const bound = setTimeout(then, 10_000)
  process.stdout.write("", () =>
    process.stderr.write("", () => {
      clearTimeout(bound)
      then()
    }))
}

/** Ends the root span in error when the run exits non-zero (the failure itself is on the step's span). */
class RunFailed extends Data.TaggedError("RunFailed")<{ readonly exitCode: number }> {
  override get message(): string {
    return `the run exited with code ${this.exitCode}`
  }
}

const main = toExitCode(run(process.argv)).pipe(
  // The run's root span; exported, with its children, when the OTEL_* variables ask for it (README).
  Effect.tap((code) => Effect.annotateCurrentSpan("process.exit.code", code)),
  Effect.filterOrFail((code) => code === ExitCode.Success, (exitCode) => new RunFailed({ exitCode })),
  Effect.withSpan("ai-provider-seed"),
  Effect.catchTag("RunFailed", ({ exitCode }) => Effect.succeed(exitCode)),
  // Built interruptibly: the exporter's fiber, forked there, keeps its request timeouts.
  provideInterruptibly(Tracing.layer),
  // Effect's default `fromEnv` makes the walk over thousands of indexed variables quadratic.
  Effect.withConfigProvider(fromVariables(Object.entries(process.env))),
  Effect.provideService(ProcessExitsAfterRun, true),
  Effect.tap((code) => Effect.sync(() => (decided = code)))
)

/*
 * A signal (SIGINT, SIGTERM) interrupts the run at its next wait: building the database, a lock wait, the
 * work inside a transaction, a confirmation; those are marked interruptible (`Effect.interruptible`), and
 * then nothing was committed (exit 130). Everything else runs to its end, so a run that has committed
 * finishes: it stops the embedded server, prints its report and exits with its own code.
 */
NodeRuntime.runMain(Effect.uninterruptible(main), {
  disablePrettyLogger: true,
  disableErrorReporting: true,
  // Exits as soon as what the run printed is written: the pool's connections may still be closing
  // (ProcessExitsAfterRun), and waiting for the server to hang up would cost a round trip.
  teardown: (exit) =>
    written(() =>
      process.exit(
        decided ?? (Exit.isSuccess(exit) ? 0 : Cause.isInterruptedOnly(exit.cause) ? ExitCode.Interrupted : 1)
      )
    )
})
// Only now: runMain's own handlers are installed, so a signal that arrived while the modules loaded is
// still pending (a process with no listener left would drop it) and interrupts the run.
releaseEarlySignals()
