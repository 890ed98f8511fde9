/** What a seed run did (or, in a dry run, would do): the report operators and servers read. */
import { Schema } from "effect"
import { ActionCounts, ProviderReport } from "../core/Plan.js"
import { SkippedProvider } from "../core/Provider.js"
import { EncryptionState } from "../crypto/EncryptionState.js"

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
