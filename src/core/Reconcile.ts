/**
 * The decision table of SPEC §5, pure: what to do with each desired provider given what is stored.
 * Failing the run on a conflict is the caller's policy, not part of the table.
 */
import { Effect, Redacted } from "effect"
import { difference, fromDesired, fromStored, hash, type StoredProvider } from "./Canonical.js"
import type { DesiredProvider } from "./DesiredProvider.js"
import type { InvalidStoredSettings } from "./Errors.js"
import type { FieldDifference } from "./FieldDifference.js"
import { mask } from "./Mask.js"

/** A stored row as the decisions need it. */
export interface StoredRow extends StoredProvider {
  readonly id: string
  readonly enabled: boolean
  readonly deleted: boolean
}

export type Decision =
  /** Not stored: insert it with its keys. */
  | { readonly action: "insert"; readonly provider: DesiredProvider }
  /** Stored and live with the same canonical hash: nothing to write. */
  | {
    readonly action: "unchanged"
    readonly provider: DesiredProvider
    readonly stored: StoredRow
    /** Set when the environment's keys differ from the stored ones: masked, never written. */
    readonly keyDrift: string | undefined
  }
  /** Soft-deleted by an operator: never resurrected. */
  | { readonly action: "skipped_deleted"; readonly provider: DesiredProvider; readonly stored: StoredRow }
  /** Stored and live with a different canonical hash. */
  | {
    readonly action: "conflict"
    readonly provider: DesiredProvider
    readonly stored: StoredRow
    readonly differences: ReadonlyArray<FieldDifference>
  }

/** Stored keys by provider id. */
export type StoredKeys = ReadonlyMap<string, ReadonlyArray<Redacted.Redacted<string>>>

const sortedValues = (keys: ReadonlyArray<Redacted.Redacted<string>>) => keys.map(Redacted.value).sort()

const maskedList = (keys: ReadonlyArray<Redacted.Redacted<string>>) =>
  keys.length === 0 ? "none" : sortedValues(keys).map(mask).join(", ")

/** Bearer keys are not in the hash (they rotate in the database); a difference is only worth a warning. */
export const keyDrift = (
  desired: ReadonlyArray<Redacted.Redacted<string>>,
  stored: ReadonlyArray<Redacted.Redacted<string>>
): string | undefined => {
  const [env, db] = [sortedValues(desired), sortedValues(stored)]
  const same = env.length === db.length && env.every((key, i) => key === db[i])
  return same ?
    undefined :
    `the environment's keys (${maskedList(desired)}) differ from the stored keys (${
      maskedList(stored)
    }); the stored keys are kept`
}

/** The stored rows whose keys the decisions need: live ones that a desired provider names. */
export const rowsNeedingKeys = (desired: ReadonlyArray<DesiredProvider>, stored: ReadonlyArray<StoredRow>) => {
  const names = new Set(desired.map((provider) => provider.name))
  return stored.filter((row) => !row.deleted && names.has(row.name))
}

export const decide = Effect.fn("Reconcile.decide")(function*(
  desired: ReadonlyArray<DesiredProvider>,
  stored: ReadonlyArray<StoredRow>,
  storedKeys: StoredKeys
) {
  const byName = new Map(stored.map((row) => [row.name, row]))
  return yield* Effect.forEach(
    desired,
    (provider): Effect.Effect<Decision, InvalidStoredSettings> =>
      Effect.gen(function*() {
        const row = byName.get(provider.name)
        if (row === undefined) return { action: "insert", provider }
        if (row.deleted) return { action: "skipped_deleted", provider, stored: row }
        const storedForm = yield* fromStored(row)
        const desiredForm = fromDesired(provider)
        if ((yield* hash(storedForm)) === (yield* hash(desiredForm))) {
          return {
            action: "unchanged",
            provider,
            stored: row,
            keyDrift: keyDrift(provider.keys, storedKeys.get(row.id) ?? [])
          }
        }
        return { action: "conflict", provider, stored: row, differences: difference(storedForm, desiredForm) }
      })
  )
})
