/**
 * `providers adopt`: the way out of a `HashConflict` by changing the database instead of the
 * environment. The stored type, base URL and settings are rewritten from the environment (and, when
 * asked, the keys replaced), under the seed lock, in one transaction, audited with masked old and new
 * values.
 */
import { Clock, Effect, Redacted } from "effect"
import { difference, fromDesired, fromStored, settingsBlob } from "../core/Canonical.js"
import type { DesiredProvider } from "../core/DesiredProvider.js"
import { derive } from "../core/DesiredProviders.js"
import type { FieldDifference } from "../core/FieldDifference.js"
import { mask } from "../core/Mask.js"
import { keyDrift } from "../core/Reconcile.js"
import type { StoredKeyRow, StoredProviderRow } from "../db/ProviderRows.js"
import { ProviderStore } from "../db/ProviderStore.js"
import { type LockOptions, SeedLock } from "../db/SeedLock.js"
import { auditedConfiguration, auditEntry, keyInsertions } from "../seed/AuditEntries.js"
import { Ids } from "../seed/Ids.js"
import { OperationRefused } from "./OperationRefused.js"
import { findStored } from "./StoredProvider.js"

export interface AdoptOptions extends Pick<LockOptions, "timeout"> {
  /** Write the environment's configuration; without it, only report the difference. */
  readonly apply: boolean
  /** Also replace the stored keys with the environment's. */
  readonly replaceKeys: boolean
}

export interface AdoptResult {
  readonly provider: string
  readonly differences: ReadonlyArray<FieldDifference>
  /** Masked; set when keys are replaced (or would be). */
  readonly keys: { readonly stored: ReadonlyArray<string>; readonly desired: ReadonlyArray<string> } | null
  readonly applied: boolean
  readonly request_id: string
}

const refuse = (provider: string, reason: string, fix: string) =>
  new OperationRefused({ operation: "adopt", provider, reason, fix })

const configured = (name: string) =>
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

const maskedKeys = (keys: ReadonlyArray<Redacted.Redacted<string>>) => keys.map((key) => mask(Redacted.value(key)))

/** `replacedKeys`: the stored keys to replace by the environment's, or undefined to leave keys alone. */
const write = (
  desired: DesiredProvider,
  stored: StoredProviderRow,
  replacedKeys: ReadonlyArray<StoredKeyRow> | undefined,
  requestId: string
) =>
  Effect.gen(function*() {
    const store = yield* ProviderStore
    const storedId = stored.id
    const updated = {
      id: storedId,
      type: desired.type,
      base_url: desired.base_url,
      settings: settingsBlob(desired),
      updated_at: new Date(yield* Clock.currentTimeMillis)
    }
    yield* store.updateConfiguration(updated)
    const audit = [
      yield* auditEntry(requestId, {
        action: "write",
        resource_type: "ai_provider",
        resource_id: storedId,
        resource_target: desired.name,
        diff: { old: auditedConfiguration(stored), new: auditedConfiguration(updated) }
      })
    ]
    if (replacedKeys !== undefined) {
      yield* store.deleteKeys(storedId)
      for (const key of replacedKeys) {
        audit.push(
          yield* auditEntry(requestId, {
            action: "delete",
            resource_type: "ai_provider_key",
            resource_id: key.id,
            resource_target: desired.name,
            diff: { provider: desired.name, api_key: mask(Redacted.value(key.api_key)) }
          })
        )
      }
      const inserted = yield* keyInsertions({ id: storedId, name: desired.name }, desired.keys, requestId)
      yield* store.insertKeys(inserted.rows)
      audit.push(...inserted.audit)
    }
    yield* store.insertAuditRows(audit)
  })

export const adopt = Effect.fn("Admin.adopt")(function*(name: string, options: AdoptOptions) {
  const desired = yield* configured(name)
  const store = yield* ProviderStore
  const requestId = yield* (yield* Ids).uuid
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
      const differences = difference(yield* fromStored(stored), fromDesired(desired))
      const storedKeyRows = yield* store.loadKeys([stored.id])
      const storedKeys = storedKeyRows.map((key) => key.api_key)
      const keysDiffer = options.replaceKeys && keyDrift(desired.keys, storedKeys) !== undefined
      if (differences.length === 0 && !keysDiffer) {
        return yield* refuse(
          name,
          "the stored provider does not differ from the environment",
          options.replaceKeys ? "nothing to adopt" : "nothing to adopt (add --replace-keys to replace differing keys)"
        )
      }
      if (options.apply) yield* write(desired, stored, options.replaceKeys ? storedKeyRows : undefined, requestId)
      return {
        provider: name,
        differences,
        keys: keysDiffer ? { stored: maskedKeys(storedKeys), desired: maskedKeys(desired.keys) } : null,
        applied: options.apply,
        request_id: requestId
      } satisfies AdoptResult
    }),
    { timeout: options.timeout }
  )
})
