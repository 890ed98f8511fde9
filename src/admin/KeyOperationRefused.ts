import { Schema } from "effect"

/**
 * A `keys` command that did not run: not confirmed (no terminal and no `--yes`, or the operator said no),
 * or not applicable (`keys rotate` without a key). Nothing was written.
 */
export class KeyOperationRefused extends Schema.TaggedError<KeyOperationRefused>()("KeyOperationRefused", {
  operation: Schema.Literal("rotate", "decrypt", "delete"),
  reason: Schema.String,
  fix: Schema.String
}) {
  override get message() {
    return `Did not run \`keys ${this.operation}\`: ${this.reason}. Nothing was written. Fix: ${this.fix}.`
  }
}
