import { Context, Effect } from "effect"

/** Where row ids and request ids come from: random UUIDs unless a test provides its own. */
export class Ids extends Context.Reference<Ids>()("ai-provider-seed/Ids", {
  defaultValue: (): { readonly uuid: Effect.Effect<string> } => ({ uuid: Effect.sync(() => crypto.randomUUID()) })
}) {}
