import { Schema } from "effect"

/** A write that PostgreSQL refused because it breaks a rule of the schema, said per provider. */
export class ConstraintViolation extends Schema.TaggedError<ConstraintViolation>()("ConstraintViolation", {
  provider: Schema.String,
  constraint: Schema.String,
  rule: Schema.String
}) {
  override get message() {
    return `AI provider "${this.provider}" was refused by the database: ${this.rule} (constraint ${this.constraint}).`
  }
}
