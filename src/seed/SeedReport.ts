/** What a seed run did (or, in a dry run, would do): the report operators and servers read. */
import { Schema } from "effect"
import { FieldDifference } from "../core/FieldDifference.js"
import { ProviderType, SkippedProvider } from "../core/Provider.js"
import { EncryptionState } from "../crypto/EncryptionState.js"

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

export class SeedReport extends Schema.Class<SeedReport>("SeedReport")({
  /** `applied`: committed; `planned`: a dry run, rolled back. */
  outcome: Schema.Literal("applied", "planned"),
  request_id: Schema.NullOr(Schema.String),
  providers: Schema.Array(ProviderReport),
  skipped: Schema.Array(SkippedProvider),
  warnings: Schema.Array(Schema.String),
  counts: ActionCounts,
  /** How long the run waited for the seed lock; null when it needed none (nothing to seed). */
  lock_wait_ms: Schema.NullOr(Schema.Number),
  /** Whether the run encrypts what it writes, and with which key (its digest, never the key). */
  encryption: EncryptionState
}) {}

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
