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
}
