/** The seed's report for people, and for tools when the run failed. */
import { ConfigError, Schema } from "effect"
import { describeDifference } from "../core/FieldDifference.js"
import type { SeedReport } from "../seed/SeedReport.js"
import { Failure } from "./ExitCode.js"

const padding = (values: ReadonlyArray<string>) => Math.max(0, ...values.map((value) => value.length))

/** One line per provider with its action, then skipped providers, then warnings. */
export const seedText = (report: SeedReport): string => {
  const planned = report.outcome === "planned"
  const summary = Object.entries(report.counts).filter(([, count]) => count > 0)
    .map(([action, count]) => `${count} ${action}`).join(", ")
  const waited = report.lock_wait_ms === null ? "" : `; waited ${report.lock_wait_ms} ms for the seed lock`
  const header = `${planned ? "Dry run, nothing written. The seed would do" : "Seed applied"}: ${summary}${waited}`
  if (report.providers.length === 0 && report.skipped.length === 0) {
    return ["No AI providers are configured in the environment: nothing to seed.", ...warningLines(report)].join("\n")
  }
  const actions = report.providers.map((provider) => provider.action)
  const names = report.providers.map((provider) => provider.name)
  const [actionWidth, nameWidth] = [padding(actions), padding(names)]
  return [
    header,
    ...report.providers.map((provider) => {
      const keys = provider.keys_inserted > 0
        ? `, ${provider.keys_inserted} key${provider.keys_inserted > 1 ? "s" : ""}`
        : ""
      const differences = provider.differences.length === 0
        ? ""
        : `; differs in ${provider.differences.map(describeDifference).join(", ")}`
      return `  ${provider.action.padEnd(actionWidth)}  ${
        provider.name.padEnd(nameWidth)
      }  (${provider.type}${keys}) from ${provider.source.join(", ")}${differences}`
    }),
    ...report.skipped.map((skipped) =>
      `  ${"skipped".padEnd(actionWidth)}  ${
        skipped.name.padEnd(nameWidth)
      }  (unsupported type "${skipped.type}") from ${skipped.source.join(", ")}`
    ),
    ...warningLines(report)
  ].join("\n")
}

const warningLines = (report: SeedReport) => {
  const warnings = [
    ...report.warnings,
    ...report.providers.flatMap((provider) => provider.warnings.map((warning) => `${provider.name}: ${warning}`))
  ]
  return warnings.length === 0 ? [] : ["Warnings:", ...warnings.map((warning) => `  - ${warning}`)]
}

const isFailure = Schema.is(Failure)
const encodeFailure = Schema.encodeSync(Failure)

/**
 * A failure as the JSON report's `error`: its tag and fields, encoded by its schema (none holds a secret),
 * and its message. Config errors carry their tag and message; anything else is `Unexpected`.
 */
export const errorJson = (error: unknown): Readonly<Record<string, unknown>> =>
  isFailure(error)
    ? { ...encodeFailure(error), message: error.message }
    : ConfigError.isConfigError(error)
    ? { _tag: "ConfigError", message: String(error) }
    : { _tag: "Unexpected", message: error instanceof Error ? error.message : String(error) }

/** The JSON report of a run that failed or was interrupted: nothing was written. */
export const failedReport = (error: unknown) => ({
  outcome: "failed" as const,
  request_id: null,
  providers: [],
  skipped: [],
  warnings: [],
  counts: null,
  lock_wait_ms: null,
  error: errorJson(error)
})

export const interruptedReport = {
  ...failedReport(undefined),
  outcome: "interrupted" as const,
  error: {
    _tag: "Interrupted",
    message: "The run was interrupted (SIGINT or SIGTERM); its transaction was rolled back and nothing was written."
  }
}
