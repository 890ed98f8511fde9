import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Redacted } from "effect"
import type { Canonical } from "../../../src/core/Canonical.js"
import { difference, fromDesired, fromStored, hash, settingsBlob } from "../../../src/core/Canonical.js"
import type { DesiredProvider } from "../../../src/core/DesiredProvider.js"

const openai: DesiredProvider = {
  name: "openai",
  type: "openai",
  source: ["CODER_AIBRIDGE_OPENAI_KEY"],
  base_url: "https://api.openai.com/v1/",
  keys: [Redacted.make("sk-openai-1234567890")],
  bedrock: null
}

const bedrock: DesiredProvider = {
  name: "anthropic",
  type: "anthropic",
  source: [],
  base_url: "https://api.anthropic.com/",
  keys: [],
  bedrock: {
    access_key: Redacted.make("AKIAEXAMPLE"),
    access_key_secret: Redacted.make("s3cr3t"),
    region: "us-east-1",
    model: "claude",
    small_fast_model: "haiku",
    base_url: "https://bedrock.example/"
  }
}

const canonical = (
  fields: readonly [string, string, string, string, string, string, string, string]
): Canonical => ({
  type: fields[0],
  base_url: fields[1],
  bedrock: {
    access_key: Redacted.make(fields[2]),
    access_key_secret: Redacted.make(fields[3]),
    region: fields[4],
    model: fields[5],
    small_fast_model: fields[6],
    base_url: fields[7]
  }
})

// Small pools make equal and unequal pairs both frequent.
const field = fc.constantFrom("", "a", "b", "é", "\"", ",")
const fields = fc.tuple(field, field, field, field, field, field, field, field)

describe("Canonical", () => {
  // Expected digests computed independently:
  // python3 -c 'import hashlib,json; print(hashlib.sha256(json.dumps([...], separators=(",",":")).encode()).hexdigest())'
  it.effect("hashes the fixed-order serialization with SHA-256, lowercase hex", () =>
    Effect.gen(function*() {
      expect(yield* hash(fromDesired(openai))).toBe("12e31f04bb5b4176873e41f66fce7acd25be09d647dcb0651c86aeeeeda9b308")
      expect(yield* hash(fromDesired(bedrock))).toBe("d0de78eb69e31b72ec5ac683c356df8f6ca33b3c0d3474c3fdaa5fd41309a4d9")
    }))

  it("builds the settings blob with empty fields omitted, null without Bedrock", () => {
    expect(settingsBlob(openai)).toBeNull()
    expect(settingsBlob(bedrock)).toEqual({
      _type: "bedrock",
      _version: 1,
      region: "us-east-1",
      model: "claude",
      small_fast_model: "haiku",
      base_url: "https://bedrock.example/",
      access_key: "AKIAEXAMPLE",
      access_key_secret: "s3cr3t"
    })
    const partial: DesiredProvider = { ...bedrock, bedrock: { ...bedrock.bedrock!, model: "", base_url: "" } }
    expect(Object.keys(settingsBlob(partial) ?? {})).toEqual([
      "_type",
      "_version",
      "region",
      "small_fast_model",
      "access_key",
      "access_key_secret"
    ])
  })

  it.effect("computes the same canonical form from the stored row it would write", () =>
    Effect.gen(function*() {
      for (const provider of [openai, bedrock]) {
        const stored = yield* fromStored({
          name: provider.name,
          type: provider.type,
          base_url: provider.base_url,
          settings: settingsBlob(provider)
        })
        expect(difference(stored, fromDesired(provider))).toEqual([])
        expect(yield* hash(stored)).toBe(yield* hash(fromDesired(provider)))
      }
    }))

  it.effect("rejects an undecodable stored blob, naming the provider and paths but no values", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(fromStored({
        name: "broken",
        type: "anthropic",
        base_url: "",
        settings: { _type: "bedrock", _version: 2, access_key: 42, access_key_secret: "leaked-secret-value" }
      }))
      expect(error._tag).toBe("InvalidStoredSettings")
      expect(error.provider).toBe("broken")
      expect(error.message).toContain("\"broken\"")
      expect(error.message).toContain("_version")
      expect(error.message).toContain("access_key")
      expect(error.message).not.toContain("leaked-secret-value")
      expect(error.message).not.toContain("42")
    }))

  it("reports secret differences without values and others with both values", () => {
    const stored = fromDesired(bedrock)
    const desired = fromDesired({
      ...bedrock,
      base_url: "https://proxy.example/",
      bedrock: { ...bedrock.bedrock!, access_key_secret: Redacted.make("rotated-secret") }
    })
    expect(difference(stored, desired)).toEqual([
      { field: "base_url", secret: false, stored: "https://api.anthropic.com/", desired: "https://proxy.example/" },
      { field: "bedrock.access_key_secret", secret: true }
    ])
  })

  it.effect.prop("the hash is deterministic", [fields], ([values]) =>
    Effect.gen(function*() {
      expect(yield* hash(canonical(values))).toBe(yield* hash(canonical([...values])))
    }))

  it.effect.prop(
    "the hash changes when a canonical field changes, and only then",
    [fields, fields],
    ([a, b]) =>
      Effect.gen(function*() {
        const [left, right] = [canonical(a), canonical(b)]
        const changed = difference(left, right)
        expect((yield* hash(left)) === (yield* hash(right))).toBe(changed.length === 0)
        expect(changed.map((d) => d.field)).toEqual(
          [
            "type",
            "base_url",
            "bedrock.access_key",
            "bedrock.access_key_secret",
            "bedrock.region",
            "bedrock.model",
            "bedrock.small_fast_model",
            "bedrock.base_url"
          ]
            .filter((_, i) => a[i] !== b[i])
        )
        for (const d of changed) {
          if (d.secret) expect(Object.keys(d)).toEqual(["field", "secret"])
        }
      })
  )

  it.effect.prop(
    "bearer keys never change the hash",
    [fc.array(fc.string({ minLength: 1 }), { maxLength: 5 })],
    ([keys]) =>
      Effect.gen(function*() {
        const withKeys = { ...openai, keys: keys.map((key) => Redacted.make(key)) }
        expect(yield* hash(fromDesired(withKeys))).toBe(yield* hash(fromDesired(openai)))
      })
  )
})

describe("differences never show credentials carried in URLs", () => {
  it("replaces user info and secret query values with ***", () => {
    const desired = fromDesired({
      name: "openai",
      type: "openai",
      source: [],
      base_url: "https://seed-user:proxy-token-123@proxy.test/v1/?api_key=query-secret-456",
      keys: [],
      bedrock: null
    })
    const stored = fromDesired({
      name: "openai",
      type: "openai",
      source: [],
      base_url: "https://api.openai.com/v1/",
      keys: [],
      bedrock: null
    })
    const [change] = difference(stored, desired)
    expect(change).toEqual({
      field: "base_url",
      secret: false,
      stored: "https://api.openai.com/v1/",
      desired: "https://***@proxy.test/v1/?api_key=***"
    })
  })
})
