/** Finding one stored provider by name for an operator's command, refusing when there is none. */
import { Effect } from "effect"
import { UnreadableProvider } from "../core/Provider.js"
import { decryptionFailureOf } from "../db/ProviderRows.js"
import { ProviderStore } from "../db/ProviderStore.js"
import { OperationRefused } from "./OperationRefused.js"

export const findStored = Effect.fn("Admin.findStored")(function*(
  operation: OperationRefused["operation"],
  name: string
) {
  const stored = (yield* (yield* ProviderStore).load).find((row) => row.name === name)
  if (stored === undefined) {
    return yield* new OperationRefused({
      operation,
      provider: name,
      reason: "no provider with this name is stored",
      fix: "check the name with `ai-provider-seed providers list`"
    })
  }
  const undecryptable = decryptionFailureOf(stored)
  if (undecryptable !== undefined) return yield* undecryptable
  if (stored instanceof UnreadableProvider) {
    return yield* new OperationRefused({
      operation,
      provider: name,
      reason: `its stored row cannot be read: ${stored.reason}`,
      fix: "upgrade ai-provider-seed if a newer program wrote it, or repair the row"
    })
  }
  return stored
})
