import { type Array, Schema } from "effect"
import { describeDifference, FieldDifference } from "./FieldDifference.js"
import { Plan } from "./Plan.js"

const list = (items: ReadonlyArray<string>): string =>
  items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`

/**
 * The environment breaks a rule (SPEC §1-2). Names the variables, the rule and the fix;
 * never carries a variable's value when that value may be a secret.
 */
export class InvalidConfiguration extends Schema.TaggedError<InvalidConfiguration>()("InvalidConfiguration", {
  variables: Schema.NonEmptyArray(Schema.String),
  rule: Schema.String,
  fix: Schema.String
}) {
  override get message(): string {
    return `Invalid configuration in ${list(this.variables)}: ${this.rule}. Fix: ${this.fix}.`
  }
}

/** Two configured providers claim one name and are not identical (SPEC §2.3). */
export class IndexedNameCollision extends Schema.TaggedError<IndexedNameCollision>()("IndexedNameCollision", {
  provider: Schema.String,
  existing: Schema.Array(Schema.String),
  conflicting: Schema.Array(Schema.String),
  reason: Schema.String,
  remediation: Schema.String
}) {
  override get message(): string {
    return `AI provider name "${this.provider}" is configured twice: by ${this.existing.join(", ")} and by ${
      this.conflicting.join(", ")
    }; ${this.reason}. Fix: ${this.remediation}.`
  }
}

/** One stored provider that differs from the environment, field by field. */
export const ProviderConflict = Schema.Struct({
  provider: Schema.String,
  differences: Schema.Array(FieldDifference)
})
export type ProviderConflict = typeof ProviderConflict.Type

/**
 * Live stored providers differ from the environment in canonical fields (SPEC §3, §5): all of them, so
 * one run shows every problem. `provider` and `differences` are the first conflict's, as before; `plan`
 * is every decision the run had computed.
 */
export class HashConflict extends Schema.TaggedError<HashConflict>()("HashConflict", {
  provider: Schema.String,
  differences: Schema.Array(FieldDifference),
  conflicts: Schema.Array(ProviderConflict),
  plan: Schema.optional(Plan)
}) {
  static readonly of = (conflicts: Array.NonEmptyReadonlyArray<ProviderConflict>, plan?: Plan) =>
    new HashConflict({
      provider: conflicts[0].provider,
      differences: conflicts[0].differences,
      conflicts,
      ...(plan === undefined ? {} : { plan })
    })

  override get message(): string {
    const single = this.conflicts.length === 1
    const describe = (conflict: ProviderConflict) => conflict.differences.map(describeDifference).join(", ")
    const what = single
      ? `AI provider "${this.provider}" exists in the database with different fields than the environment`
      : `${this.conflicts.length} AI providers exist in the database with different fields than the environment`
    const which = single
      ? describe(this)
      : this.conflicts.map((conflict) => `"${conflict.provider}": ${describe(conflict)}`).join("; ")
    const name = single ? this.provider : "NAME"
    return `${what} (the stored values are what the runtime uses, so the seed does not overwrite them): ${which}. Fix${
      single ? "" : ", for each"
    }: make the database match the environment with \`ai-provider-seed providers adopt ${name} --yes\`, retire the stored provider with \`ai-provider-seed providers delete ${name}\`, or change the environment to match; to start now and decide later, seed with --on-conflict warn.`
  }
}

/**
 * The environment configures a provider whose stored row this program cannot read (an unknown type, or
 * settings of another version). Names what cannot be read, never a value.
 */
export class UnreadableStoredProvider extends Schema.TaggedError<UnreadableStoredProvider>()(
  "UnreadableStoredProvider",
  { provider: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `AI provider "${this.provider}" is configured in the environment, but its stored row cannot be read: ${this.reason}. Fix: if a newer server or program wrote it, upgrade ai-provider-seed; otherwise remove the provider from the environment (the stored row is left as it is), or repair the row; \`ai-provider-seed providers list\` shows it as unreadable.`
  }
}
