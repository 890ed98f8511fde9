/**
 * `providers delete` and `providers restore`: the operator's soft delete (the name stays reserved, the
 * seed never recreates it) and its undo. Each runs under the seed lock, in one transaction, audited.
 */
import { Effect, Schema } from "effect"
import { auditEntry } from "../audit/Audit.js"
import { Ids, stamp } from "../core/Ids.js"
import { ProviderStore } from "../db/ProviderStore.js"
import { type LockOptions, SeedLock } from "../db/SeedLock.js"
import { OperationRefused } from "./OperationRefused.js"
import { findStored } from "./StoredProvider.js"

export class SoftDeleteResult extends Schema.Class<SoftDeleteResult>("SoftDeleteResult")({
  provider: Schema.String,
  deleted: Schema.Boolean,
  request_id: Schema.String
}) {}

const setDeleted = (operation: "delete" | "restore", name: string, options: LockOptions) =>
  Effect.gen(function*() {
    const deleted = operation === "delete"
    const store = yield* ProviderStore
    const requestId = (yield* Ids).uuid()
    return yield* (yield* SeedLock).withLock(
      Effect.gen(function*() {
        const stored = yield* findStored(operation, name)
        if (stored.deleted === deleted) {
          return yield* new OperationRefused({
            operation,
            provider: name,
            reason: deleted ? "it is already deleted" : "it is not deleted",
            fix: deleted ? "nothing to do" : "nothing to do; `providers list` shows its state"
          })
        }
        const now = yield* stamp
        yield* store.setDeleted(stored.id, deleted, now.now)
        yield* store.insertAudit([
          auditEntry(now, requestId, {
            action: deleted ? "delete" : "write",
            resource_type: "ai_provider",
            resource_id: stored.id,
            resource_target: name,
            diff: { deleted, enabled: !deleted }
          })
        ])
        yield* Effect.logInfo(deleted ? "provider deleted" : "provider restored").pipe(
          Effect.annotateLogs({ provider: name, request_id: requestId })
        )
        return new SoftDeleteResult({ provider: name, deleted, request_id: requestId })
      }),
      options
    )
  }).pipe(Effect.withSpan(`Admin.${operation}`))

/** Soft delete: `deleted` and not `enabled`. The seed reports it as `skipped_deleted` from then on. */
export const softDelete = (name: string, options: LockOptions = {}) => setDeleted("delete", name, options)

/** Undoes a soft delete: live and enabled again. */
export const restore = (name: string, options: LockOptions = {}) => setDeleted("restore", name, options)
