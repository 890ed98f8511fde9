/**
 * The standalone program. Each command picks its log format (`--log-format`, to stderr); the exit code
 * is the failure's (SPEC §7), mapped in one place.
 */
// First: a signal while the modules below load exits 130, like one during the run.
import { releaseEarlySignals } from "./cli/EarlySignals.js"
// Subpath imports: the package index loads every Node service (HTTP, sockets, workers) at startup.
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit, Option } from "effect"
import { run, toExitCode } from "./cli/Cli.js"
import { ExitCode } from "./cli/ExitCode.js"
import { fromVariables } from "./env/IndexedConfigProvider.js"
import * as Tracing from "./telemetry/Tracing.js"

/** Succeeds on exit code 0 and fails with any other code; the failure was already printed. */
const main = toExitCode(run(process.argv)).pipe(
  // The run's root span; exported, with its children, when the OTEL_* variables ask for it (README).
  Effect.tap((code) => Effect.annotateCurrentSpan("process.exit.code", code)),
  Effect.withSpan("ai-provider-seed"),
  Effect.provide(Tracing.layer),
  // Effect's default `fromEnv` makes the walk over thousands of indexed variables quadratic.
  Effect.withConfigProvider(fromVariables(Object.entries(process.env))),
  Effect.filterOrFail((code) => code === 0, (code) => code),
  Effect.provide(NodeContext.layer)
)

releaseEarlySignals()
NodeRuntime.runMain(main, {
  disablePrettyLogger: true,
  disableErrorReporting: true,
  // A signal interrupts the run; its finalizers (pool, embedded server) run before the exit.
  teardown: (exit, onExit) =>
    onExit(
      Exit.isSuccess(exit) ? 0 : Option.match(Cause.failureOption(exit.cause), {
        onNone: () => ExitCode.Interrupted,
        onSome: (code) => typeof code === "number" ? code : 1
      })
    )
})
