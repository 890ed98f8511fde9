/**
 * The decision table of SPEC §5, pure and synchronous: what to do with each desired provider given
 * what is stored. Failing the run on a conflict is the caller's policy, not part of the table.
 */
import { Either, Redacted } from "effect"
import { difference, hash } from "./Canonical.js"
import { UnreadableStoredProvider } from "./Errors.js"
import type { FieldDifference } from "./FieldDifference.js"
import { maskSecret } from "./Mask.js"
import { type DesiredProvider, type StoredProvider, type StoredRow, UnreadableProvider } from "./Provider.js"

export type Decision =
  /** Not stored: insert it with its keys. */
  | { readonly action: "insert"; readonly provider: DesiredProvider }
  /** Stored and live with the same canonical hash: nothing to write. */
  | {
    readonly action: "unchanged"
    readonly provider: DesiredProvider
    readonly stored: StoredProvider
    /** Set when the environment's keys differ from the stored ones: masked, never written. */
    readonly keyDrift: string | undefined
  }
  /** Soft-deleted by an operator: never resurrected. */
  | { readonly action: "skipped_deleted"; readonly provider: DesiredProvider; readonly stored: StoredProvider }
  /** Stored and live with a different canonical hash. */
  | {
    readonly action: "conflict"
    readonly provider: DesiredProvider
    readonly stored: StoredProvider
    readonly differences: ReadonlyArray<FieldDifference>
  }

/** A desired provider with its canonical hash, computed before the seed lock is taken. */
export interface HashedProvider {
  readonly provider: DesiredProvider
  readonly hash: string
}

export const hashed = (providers: ReadonlyArray<DesiredProvider>): ReadonlyArray<HashedProvider> =>
  providers.map((provider) => ({ provider, hash: hash(provider) }))

type Key = Redacted.Redacted<string>

/** The keys of `keys` (1-based positions, masked) that `other` does not hold. */
const missingFrom = (keys: ReadonlyArray<Key>, other: ReadonlyArray<Key>): Array<string> => {
  const remaining = other.map(Redacted.value)
  return keys.flatMap((key, i) => {
    const at = remaining.indexOf(Redacted.value(key))
    if (at !== -1) {
      remaining.splice(at, 1)
      return []
    }
    return [`#${i + 1} ${maskSecret(key)}`]
  })
}

const count = (n: number) => `${n} key${n === 1 ? "" : "s"}`

/**
 * Bearer keys are not in the hash (they rotate in the database); a difference is only worth a warning.
 * Order does not matter; the message says which keys (by position, masked) each side lacks, since two
 * different keys can have the same mask.
 */
export const keyDrift = (desired: ReadonlyArray<Key>, stored: ReadonlyArray<Key>): string | undefined => {
  const onlyDesired = missingFrom(desired, stored)
  const onlyStored = missingFrom(stored, desired)
  if (onlyDesired.length === 0 && onlyStored.length === 0) return undefined
  const side = (label: string, keys: ReadonlyArray<Key>, only: ReadonlyArray<string>) =>
    `${label} has ${count(keys.length)}${
      only.length === 0 ? "" : `, ${only.length} not on the other side (${only.join(", ")})`
    }`
  return `the environment's keys differ from the stored keys: ${side("the environment", desired, onlyDesired)}; ${
    side("the database", stored, onlyStored)
  }. The stored keys are kept`
}

/**
 * One decision per desired provider, in their order. A stored row that cannot be read stops the run
 * only when the environment configures its name; any other such row is none of the seed's business.
 */
export const decide = (
  desired: ReadonlyArray<HashedProvider>,
  stored: ReadonlyArray<StoredRow>
): Either.Either<Array<Decision>, UnreadableStoredProvider> => {
  const byName = new Map(stored.map((row) => [row.name, row]))
  const decisions: Array<Decision> = []
  for (const { hash: desiredHash, provider } of desired) {
    const row = byName.get(provider.name)
    if (row === undefined) {
      decisions.push({ action: "insert", provider })
    } else if (row instanceof UnreadableProvider) {
      return Either.left(new UnreadableStoredProvider({ provider: row.name, reason: row.reason }))
    } else if (row.deleted) {
      decisions.push({ action: "skipped_deleted", provider, stored: row })
    } else if (hash(row) === desiredHash) {
      decisions.push({ action: "unchanged", provider, stored: row, keyDrift: keyDrift(provider.keys, row.keys) })
    } else {
      decisions.push({ action: "conflict", provider, stored: row, differences: difference(row, provider) })
    }
  }
  return Either.right(decisions)
}
