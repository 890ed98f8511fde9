/** What a seed run did (or, in a dry run, would do): the report operators and servers read. */
import type { SkippedProvider } from "../core/DesiredProvider.js"
import type { FieldDifference } from "../core/FieldDifference.js"

export type ProviderAction = "inserted" | "unchanged" | "skipped_deleted" | "conflict"

export interface ProviderReport {
  readonly name: string
  readonly type: string
  readonly source: ReadonlyArray<string>
  readonly action: ProviderAction
  readonly keys_inserted: number
  readonly differences: ReadonlyArray<FieldDifference>
  readonly warnings: ReadonlyArray<string>
}

export interface SeedReport {
  /** `applied`: committed; `planned`: a dry run, rolled back. */
  readonly outcome: "applied" | "planned"
  readonly request_id: string | null
  readonly providers: ReadonlyArray<ProviderReport>
  readonly skipped: ReadonlyArray<SkippedProvider>
  readonly warnings: ReadonlyArray<string>
  /** How many providers took each action, and how many unknown types were skipped. */
  readonly counts: Readonly<Record<ProviderAction | "skipped_unknown", number>>
  /** How long the run waited for the seed lock; null when it needed none (nothing to seed). */
  readonly lock_wait_ms: number | null
}

export const countActions = (
  providers: ReadonlyArray<ProviderReport>,
  skipped: ReadonlyArray<SkippedProvider>
): SeedReport["counts"] => {
  const count = (action: ProviderAction) => providers.filter((provider) => provider.action === action).length
  return {
    inserted: count("inserted"),
    unchanged: count("unchanged"),
    skipped_deleted: count("skipped_deleted"),
    conflict: count("conflict"),
    skipped_unknown: skipped.length
  }
}
