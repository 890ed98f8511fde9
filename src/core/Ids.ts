import { Clock, Context, Effect } from "effect"

/** Where row ids and request ids come from: random UUIDs unless a test provides its own. */
export class Ids extends Context.Reference<Ids>()("ai-provider-seed/Ids", {
  defaultValue: (): { readonly uuid: () => string } => ({ uuid: () => crypto.randomUUID() })
}) {}

/** Fresh ids and the time of a run's writes, taken once: per-row work then needs no effect at all. */
export interface Stamp {
  readonly uuid: () => string
  readonly now: Date
}

export const stamp: Effect.Effect<Stamp> = Effect.map(
  Effect.all([Ids, Clock.currentTimeMillis]),
  ([ids, millis]) => ({ uuid: ids.uuid, now: new Date(millis) })
)
