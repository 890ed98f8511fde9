/** The seed's report for people and for tools. */
import { describeDifference } from "../core/FieldDifference.js"
import type { SeedReport } from "../seed/SeedReport.js"

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

/** A failure as the JSON report's `error`: its tag, its message and its fields (none of which holds a secret). */
export const errorJson = (error: unknown) => {
  if (typeof error !== "object" || error === null) return { _tag: "Unexpected", message: String(error) }
  const fields = Object.fromEntries(Object.entries(error).filter(([key]) => key !== "cause"))
  return { _tag: "Unexpected", ...fields, message: error instanceof Error ? error.message : String(error) }
}

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
