import { Schema } from "effect"
import { describeDifference, FieldDifference } from "./FieldDifference.js"

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

/** A live stored provider differs from the environment in a canonical field (SPEC §3, §5). */
export class HashConflict extends Schema.TaggedError<HashConflict>()("HashConflict", {
  provider: Schema.String,
  differences: Schema.Array(FieldDifference)
}) {
  override get message(): string {
    return `AI provider "${this.provider}" exists in the database with different fields than the environment: ${
      this.differences.map(describeDifference).join(", ")
    }. Fix: change the environment to match the stored provider, or change or delete the provider in the database; then restart.`
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
