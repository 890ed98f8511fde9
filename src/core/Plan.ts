/**
 * What a seed decided for each desired provider, as reports show it: the plan of a dry run, the record
 * of an applied run, and what a failed run had computed before it stopped.
 */
import { Schema } from "effect"
import { FieldDifference } from "./FieldDifference.js"
import { ProviderType, type SkippedProvider } from "./Provider.js"

export const ProviderAction = Schema.Literal("inserted", "unchanged", "skipped_deleted", "conflict")
export type ProviderAction = typeof ProviderAction.Type

export class ProviderReport extends Schema.Class<ProviderReport>("ProviderReport")({
  name: Schema.String,
  type: ProviderType,
  /** The environment variables the provider came from. */
  source: Schema.Array(Schema.String),
  action: ProviderAction,
  keys_inserted: Schema.Number,
  differences: Schema.Array(FieldDifference),
  warnings: Schema.Array(Schema.String)
}) {}

/** How many providers took each action, and how many unknown types were skipped. */
export const ActionCounts = Schema.Struct({
  inserted: Schema.Number,
  unchanged: Schema.Number,
  skipped_deleted: Schema.Number,
  conflict: Schema.Number,
  skipped_unknown: Schema.Number
})
export type ActionCounts = typeof ActionCounts.Type

/** Every decision of a run, and how many of each. */
export const Plan = Schema.Struct({ providers: Schema.Array(ProviderReport), counts: ActionCounts })
export type Plan = typeof Plan.Type

export const countActions = (
  providers: ReadonlyArray<ProviderReport>,
  skipped: ReadonlyArray<SkippedProvider>
): ActionCounts => {
  const count = (action: ProviderAction) => providers.filter((provider) => provider.action === action).length
  return {
    inserted: count("inserted"),
    unchanged: count("unchanged"),
    skipped_deleted: count("skipped_deleted"),
    conflict: count("conflict"),
    skipped_unknown: skipped.length
  }
}
