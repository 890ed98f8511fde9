/** The seed's report for people, and for tools when the run failed. */
import { ConfigError, Schema } from "effect"
import { HashConflict } from "../core/Errors.js"
import { describeDifference } from "../core/FieldDifference.js"
import { Plan, type ProviderReport } from "../core/Plan.js"
import { type DesiredSet, SkippedProvider } from "../core/Provider.js"
import type { ConflictPolicy } from "../seed/Seeder.js"
import type { SeedReport } from "../seed/SeedReport.js"
import { Failure } from "./ExitCode.js"

const padding = (values: ReadonlyArray<string>) => Math.max(0, ...values.map((value) => value.length))

const keysOf = (provider: ProviderReport) =>
  provider.keys_inserted > 0 ? `, ${provider.keys_inserted} key${provider.keys_inserted > 1 ? "s" : ""}` : ""

/**
 * A dry run read as a plan: what would be inserted, what is unchanged or skipped, and what blocks the
 * start, with the commands that resolve it.
 */
const planText = (report: SeedReport, waited: string, policy: ConflictPolicy): string => {
  const section = (title: string, items: ReadonlyArray<string>) =>
    items.length === 0 ? [] : [`  ${title} (${items.length}):`, ...items.map((item) => `    ${item}`)]
  const named = (action: ProviderReport["action"], describe: (provider: ProviderReport) => string) =>
    report.providers.filter((provider) => provider.action === action).map((provider) =>
      `${provider.name}  ${describe(provider)}`
    )
  const conflicts = report.providers.filter((provider) => provider.action === "conflict")
  const blocking = policy === "fail" ? conflicts : []
  const differs = (p: ProviderReport) => `${p.name}  differs in ${p.differences.map(describeDifference).join(", ")}`
  return [
    `Plan (dry run, nothing written${waited}):`,
    ...section("would insert", named("inserted", (p) => `(${p.type}${keysOf(p)}) from ${p.source.join(", ")}`)),
    ...section("unchanged", named("unchanged", (p) => `(${p.type})`)),
    ...section("skipped", [
      ...named("skipped_deleted", () => "soft-deleted in the database (restore it to use it again)"),
      ...report.skipped.map((s) => `${s.name}  unsupported type "${s.type}" from ${s.source.join(", ")}`)
    ]),
    ...section(
      "blocks the start",
      blocking.map((p) =>
        `${differs(p)}\n` +
        `      Fix: \`ai-provider-seed providers adopt ${p.name} --yes\`, \`ai-provider-seed providers delete ${p.name}\`, or change the environment; or start with --on-conflict warn`
      )
    ),
    // With --on-conflict warn a conflict is left untouched and does not stop the start.
    ...section("would leave untouched (--on-conflict warn)", policy === "warn" ? conflicts.map(differs) : []),
    ...(blocking.length === 0 ? ["  Nothing blocks the start."] : []),
    ...warningLines({
      ...report,
      providers: report.providers.filter((provider) => provider.action !== "conflict")
    })
  ].join("\n")
}

/**
 * One line per provider with its action, then skipped providers, then warnings; a dry run as a plan, read
 * with the run's conflict policy.
 */
export const seedText = (policy: ConflictPolicy) => (report: SeedReport): string => {
  const summary = Object.entries(report.counts).filter(([, count]) => count > 0)
    .map(([action, count]) => `${count} ${action}`).join(", ")
  const waited = report.lock_wait_ms === null ? "" : `; waited ${report.lock_wait_ms} ms for the seed lock`
  if (report.providers.length === 0 && report.skipped.length === 0) {
    return ["No AI providers are configured in the environment: nothing to seed.", ...warningLines(report)].join("\n")
  }
  if (report.outcome === "planned") return planText(report, waited, policy)
  const header = `Seed applied: ${summary}${waited}`
  const actions = report.providers.map((provider) => provider.action)
  const names = report.providers.map((provider) => provider.name)
  const [actionWidth, nameWidth] = [padding(actions), padding(names)]
  return [
    header,
    ...report.providers.map((provider) => {
      const keys = keysOf(provider)
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

const warningLines = (report: Pick<SeedReport, "warnings" | "providers">) => {
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

const encodePlan = Schema.encodeSync(Plan)
const encodeSkipped = Schema.encodeSync(Schema.Array(SkippedProvider))

/**
 * The JSON report of a run that failed or was interrupted: nothing was written. It shows what the
 * environment held when it was derived (skipped providers, warnings), and a conflict every decision the
 * run had computed.
 */
export const failedReport = (error: unknown, desired?: DesiredSet) => {
  const plan = error instanceof HashConflict && error.plan !== undefined ? encodePlan(error.plan) : undefined
  return {
    outcome: "failed" as const,
    request_id: null,
    providers: plan?.providers ?? [],
    skipped: desired === undefined ? [] : encodeSkipped(desired.skipped),
    warnings: desired?.warnings ?? [],
    counts: plan?.counts ?? null,
    lock_wait_ms: null,
    error: errorJson(error)
  }
}

export const interruptedReport = {
  ...failedReport(undefined),
  outcome: "interrupted" as const,
  error: {
    _tag: "Interrupted",
    message: "The run was interrupted (SIGINT or SIGTERM); its transaction was rolled back and nothing was written."
  }
}
