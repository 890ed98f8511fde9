import { Schema } from "effect"

/** An operator's command that does not apply to the provider as it is: nothing was written. */
export class OperationRefused extends Schema.TaggedError<OperationRefused>()("OperationRefused", {
  operation: Schema.Literal("adopt", "delete", "restore"),
  provider: Schema.String,
  reason: Schema.String,
  fix: Schema.String
}) {
  override get message() {
    return `Cannot ${this.operation} AI provider "${this.provider}": ${this.reason}. Nothing was written. Fix: ${this.fix}.`
  }
}
