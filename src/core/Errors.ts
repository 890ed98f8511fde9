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
    return `Invalid AI provider configuration in ${list(this.variables)}: ${this.rule}. Fix: ${this.fix}.`
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

/** A stored `settings` blob that does not decode. Names the offending paths, never their values. */
export class InvalidStoredSettings extends Schema.TaggedError<InvalidStoredSettings>()("InvalidStoredSettings", {
  provider: Schema.String,
  paths: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `AI provider "${this.provider}" has stored settings that cannot be decoded (at ${
      this.paths.join(", ")
    }). Fix: correct or clear the provider's settings in the database, then restart.`
  }
}
