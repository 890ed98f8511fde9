/**
 * `providers adopt`: the way out of a `HashConflict` by changing the database instead of the
 * environment. The stored type, base URL and settings are rewritten from the environment (and, when
 * asked, the keys replaced), under the seed lock, in one transaction, audited with masked old and new
 * values.
 */
import { Effect, Schema } from "effect"
import { auditedConfiguration, auditEntry, type AuditRow, keyAuditEntry } from "../audit/Audit.js"
import { keyInsertions } from "../audit/Insertions.js"
import { difference } from "../core/Canonical.js"
import { FieldDifference } from "../core/FieldDifference.js"
import { Ids, stamp } from "../core/Ids.js"
import { maskSecret } from "../core/Mask.js"
import type { DesiredProvider, StoredProvider } from "../core/Provider.js"
import { keyDrift } from "../core/Reconcile.js"
import { ProviderStore } from "../db/ProviderStore.js"
import { type LockOptions, SeedLock } from "../db/SeedLock.js"
import { derive } from "../env/DesiredProviders.js"
import { OperationRefused } from "./OperationRefused.js"
import { findStored } from "./StoredProvider.js"

export interface AdoptOptions extends Pick<LockOptions, "timeout"> {
  /** Write the environment's configuration; without it, only report the difference. */
  readonly apply: boolean
  /** Also replace the stored keys with the environment's. */
  readonly replaceKeys: boolean
}

export class AdoptResult extends Schema.Class<AdoptResult>("AdoptResult")({
  provider: Schema.String,
  differences: Schema.Array(FieldDifference),
  /** Masked; set when keys are replaced (or would be). */
  keys: Schema.NullOr(Schema.Struct({ stored: Schema.Array(Schema.String), desired: Schema.Array(Schema.String) })),
  /** Stored settings fields this program does not know, which adopting drops (their names are audited). */
  dropped_settings: Schema.Array(Schema.String),
  applied: Schema.Boolean,
  request_id: Schema.String
}) {}

const refuse = (provider: string, reason: string, fix: string) =>
  new OperationRefused({ operation: "adopt", provider, reason, fix })

/** The provider the environment configures under `name`: validated before any database access. */
export const configured = (name: string) =>
  Effect.flatMap(derive, ({ providers }) => {
    const provider = providers.find((candidate) => candidate.name === name)
    return provider === undefined
      ? Effect.fail(refuse(
        name,
        "the environment does not configure a provider with this name",
        "configure it in the environment (`ai-provider-seed config` lists the configured names)"
      ))
      : Effect.succeed(provider)
  })

/** Rewrites the stored provider from the environment; with `replaceKeys`, its keys too. */
const write = (desired: DesiredProvider, stored: StoredProvider, replaceKeys: boolean, requestId: string) =>
  Effect.gen(function*() {
    const store = yield* ProviderStore
    const now = yield* stamp
    yield* store.updateConfiguration(stored.id, desired, now.now)
    const audit: Array<AuditRow> = [
      auditEntry(now, requestId, {
        action: "write",
        resource_type: "ai_provider",
        resource_id: stored.id,
        resource_target: desired.name,
        diff: {
          old: { ...auditedConfiguration(stored), unknown_settings: stored.unknown_settings },
          new: auditedConfiguration(desired)
        }
      })
    ]
    if (replaceKeys) {
      for (const key of yield* store.deleteKeys(stored)) {
        audit.push(keyAuditEntry(now, requestId, "delete", desired.name, key))
      }
      const inserted = keyInsertions(now, { id: stored.id, name: desired.name }, desired.keys, requestId)
      yield* store.insert({ providers: [], keys: inserted.rows, audit: [...audit, ...inserted.audit] })
    } else {
      yield* store.insertAudit(audit)
    }
  })

export const adopt = Effect.fn("Admin.adopt")(function*(desired: DesiredProvider, options: AdoptOptions) {
  const name = desired.name
  const requestId = (yield* Ids).uuid()
  return yield* (yield* SeedLock).withLock(
    Effect.gen(function*() {
      const stored = yield* findStored("adopt", name)
      if (stored.deleted) {
        return yield* refuse(
          name,
          "it is soft-deleted",
          `restore it first: \`ai-provider-seed providers restore ${name}\``
        )
      }
      const differences = difference(stored, desired)
      const keysDiffer = options.replaceKeys && keyDrift(desired.keys, stored.keys) !== undefined
      if (differences.length === 0 && !keysDiffer) {
        return yield* refuse(
          name,
          "the stored provider does not differ from the environment",
          options.replaceKeys ? "nothing to adopt" : "nothing to adopt (add --replace-keys to replace differing keys)"
        )
      }
      if (options.apply) yield* write(desired, stored, options.replaceKeys, requestId)
      return new AdoptResult({
        provider: name,
        differences,
        keys: keysDiffer ? { stored: stored.keys.map(maskSecret), desired: desired.keys.map(maskSecret) } : null,
        dropped_settings: stored.unknown_settings,
        applied: options.apply,
        request_id: requestId
      }, true)
    }),
    { timeout: options.timeout }
  )
})
