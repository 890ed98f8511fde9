import { Effect, ParseResult, Redacted, Schema } from "effect"
import type { Bedrock, DesiredProvider } from "./DesiredProvider.js"
import { InvalidStoredSettings } from "./Errors.js"
import type { FieldDifference } from "./FieldDifference.js"
import { maskUrl } from "./UrlMask.js"

/**
 * The fields that decide runtime behaviour (SPEC §3), empty strings where absent.
 * Bearer keys are deliberately absent so they can be rotated in the database.
 */
export interface Canonical {
  readonly type: string
  readonly base_url: string
  readonly bedrock: Bedrock
}

/** The `settings` jsonb blob for Bedrock, exactly as stored: empty fields omitted. */
export const BedrockSettingsBlob = Schema.Struct({
  _type: Schema.Literal("bedrock"),
  _version: Schema.Literal(1),
  region: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  small_fast_model: Schema.optional(Schema.String),
  base_url: Schema.optional(Schema.String),
  access_key: Schema.optional(Schema.String),
  access_key_secret: Schema.optional(Schema.String)
})
export type BedrockSettingsBlob = typeof BedrockSettingsBlob.Type

/** The part of an `ai_providers` row the canonical form is computed from. */
export interface StoredProvider {
  readonly name: string
  readonly type: string
  readonly base_url: string
  readonly settings: unknown
}

/** Field names as reported in differences; Bedrock fields are prefixed to tell the two base URLs apart. */
export const canonicalFields = [
  "type",
  "base_url",
  "bedrock.access_key",
  "bedrock.access_key_secret",
  "bedrock.region",
  "bedrock.model",
  "bedrock.small_fast_model",
  "bedrock.base_url"
] as const
export type CanonicalField = typeof canonicalFields[number]

const secretFields: ReadonlySet<CanonicalField> = new Set(["bedrock.access_key", "bedrock.access_key_secret"])

const emptySecret = Redacted.make("")

const fieldValues = (c: Canonical): ReadonlyArray<string> => [
  c.type,
  c.base_url,
  Redacted.value(c.bedrock.access_key),
  Redacted.value(c.bedrock.access_key_secret),
  c.bedrock.region,
  c.bedrock.model,
  c.bedrock.small_fast_model,
  c.bedrock.base_url
]

const noBedrock: Bedrock = {
  access_key: emptySecret,
  access_key_secret: emptySecret,
  region: "",
  model: "",
  small_fast_model: "",
  base_url: ""
}

export const fromDesired = (provider: DesiredProvider): Canonical => ({
  type: provider.type,
  base_url: provider.base_url,
  bedrock: provider.bedrock ?? noBedrock
})

/** Bedrock settings from a stored blob, secrets redacted, absent fields empty; null without a blob. */
export const bedrockFromBlob = (settings: BedrockSettingsBlob | null): Bedrock | null =>
  settings === null ? null : {
    access_key: Redacted.make(settings.access_key ?? ""),
    access_key_secret: Redacted.make(settings.access_key_secret ?? ""),
    region: settings.region ?? "",
    model: settings.model ?? "",
    small_fast_model: settings.small_fast_model ?? "",
    base_url: settings.base_url ?? ""
  }

/** The settings blob to store for a desired provider: null without Bedrock credentials. */
export const settingsBlob = (provider: DesiredProvider): BedrockSettingsBlob | null => {
  const bedrock = provider.bedrock
  if (bedrock === null) return null
  const fields = {
    region: bedrock.region,
    model: bedrock.model,
    small_fast_model: bedrock.small_fast_model,
    base_url: bedrock.base_url,
    access_key: Redacted.value(bedrock.access_key),
    access_key_secret: Redacted.value(bedrock.access_key_secret)
  }
  return {
    _type: "bedrock",
    _version: 1,
    ...Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== ""))
  }
}

const decodeSettings = Schema.decodeUnknown(Schema.NullOr(BedrockSettingsBlob), { errors: "all" })

/**
 * The canonical form of a stored row. An undecodable blob is a typed error naming
 * the provider and the offending paths, never the values (they may be secrets).
 */
export const fromStored = Effect.fn("Canonical.fromStored")(function*(row: StoredProvider) {
  const settings = yield* decodeSettings(row.settings ?? null).pipe(
    Effect.mapError((error) =>
      new InvalidStoredSettings({
        provider: row.name,
        paths: ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
          issue.path.length === 0 ? "(settings)" : issue.path.join(".")
        )
      })
    )
  )
  return { type: row.type, base_url: row.base_url, bedrock: bedrockFromBlob(settings) ?? noBedrock } satisfies Canonical
})

const utf8 = new TextEncoder()

/**
 * SHA-256 (lowercase hex) of a JSON array of the fields in `canonicalFields` order:
 * fixed order and JSON string escaping make the serialization unambiguous.
 * Covers secrets: compare it, never log or print it.
 */
export const hash = Effect.fn("Canonical.hash")(function*(canonical: Canonical) {
  const bytes = utf8.encode(JSON.stringify(fieldValues(canonical)))
  const digest = yield* Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", bytes))
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("")
})

/** Field-by-field difference between a stored and a desired canonical form, in `canonicalFields` order. */
export const difference = (stored: Canonical, desired: Canonical): ReadonlyArray<FieldDifference> => {
  const storedValues = fieldValues(stored)
  const desiredValues = fieldValues(desired)
  return canonicalFields.flatMap((field, i): Array<FieldDifference> => {
    const before = storedValues[i] ?? ""
    const after = desiredValues[i] ?? ""
    if (before === after) return []
    return secretFields.has(field) ? [{ field, secret: true }] : [{
      field,
      secret: false,
      // URLs may carry credentials (`https://user:token@proxy/`, `?api_key=...`): masked.
      stored: maskUrl(before),
      desired: maskUrl(after)
    }]
  })
}

export const equivalent = (a: Canonical, b: Canonical): boolean => difference(a, b).length === 0
