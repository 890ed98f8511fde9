/**
 * The canonical form of a provider (SPEC §3): the fields that decide runtime behaviour, in a fixed
 * order, "" where absent, and its SHA-256. Desired and stored providers are the same model, so one
 * function serves both sides. Bearer keys are deliberately absent: they rotate in the database.
 */
import { Redacted } from "effect"
import type { FieldDifference } from "./FieldDifference.js"
import { type BedrockField, bedrockFields, isSecretBedrockField, type Provider } from "./Provider.js"
import { sha256Hex } from "./Sha256.js"
import { maskUrl } from "./UrlMask.js"
import { nearMiss } from "./UrlNearMiss.js"

export type CanonicalField = "type" | "base_url" | `bedrock.${BedrockField}`

/** Field names as reported in differences; Bedrock fields are prefixed to tell the two base URLs apart. */
export const canonicalFields: ReadonlyArray<CanonicalField> = [
  "type",
  "base_url",
  ...bedrockFields.map((field) => `bedrock.${field}` as const)
]

const isUrlField = (field: CanonicalField) => field === "base_url" || field === "bedrock.base_url"

interface CanonicalValue {
  readonly field: CanonicalField
  /** Revealed for secrets: compare it, never show it. */
  readonly value: string
  readonly secret: boolean
}

/** The canonical values in `canonicalFields` order. */
const canonicalValues = ({ base_url, bedrock, type }: Provider): Array<CanonicalValue> => [
  { field: "type", value: type, secret: false },
  { field: "base_url", value: base_url, secret: false },
  ...bedrockFields.map((field): CanonicalValue => {
    const secret = isSecretBedrockField(field)
    const value = bedrock === null ? "" : secret ? Redacted.value(bedrock[field]) : bedrock[field]
    return { field: `bedrock.${field}`, value, secret }
  })
]

/**
 * SHA-256 (lowercase hex) of a JSON array of the canonical values: fixed order and JSON string escaping
 * make the serialization unambiguous. Covers secrets: compare it, never log or print it.
 */
export const hash = (provider: Provider): string =>
  sha256Hex(JSON.stringify(canonicalValues(provider).map(({ value }) => value)))

/** Field-by-field difference between a stored and a desired provider, in `canonicalFields` order. */
export const difference = (stored: Provider, desired: Provider): ReadonlyArray<FieldDifference> => {
  const after = canonicalValues(desired)
  return canonicalValues(stored).flatMap(({ field, secret, value: before }, i): Array<FieldDifference> => {
    const desiredValue = after[i]?.value ?? ""
    if (before === desiredValue) return []
    if (secret) return [{ field, secret: true }]
    if (!isUrlField(field)) return [{ field, secret: false, stored: before, desired: desiredValue }]
    const [stored, desired] = [maskUrl(before), maskUrl(desiredValue)]
    // Two masks alike would read as "X differs from X": say where the difference hides.
    const hint = nearMiss(before, desiredValue) ??
      (stored === desired ? "differs only in its masked part (credentials or a secret parameter)" : undefined)
    return [{ field, secret: false, stored, desired, ...(hint === undefined ? {} : { hint }) }]
  })
}

export const equivalent = (a: Provider, b: Provider): boolean => hash(a) === hash(b)
