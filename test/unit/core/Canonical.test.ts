import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Redacted, Schema } from "effect"
import { difference, hash } from "../../../src/core/Canonical.js"
import {
  BedrockSettings,
  DesiredProvider,
  type Provider,
  StoredProvider,
  UnreadableProvider
} from "../../../src/core/Provider.js"
import { make as makeEncryption } from "../../../src/crypto/Encryption.js"
import { SettingsColumn, settingsText, toStoredRow } from "../../../src/db/ProviderRows.js"

const openai = new DesiredProvider({
  name: "openai",
  type: "openai",
  source: ["CODER_AIBRIDGE_OPENAI_KEY"],
  base_url: "https://api.openai.com/v1/",
  keys: [Redacted.make("sk-openai-1234567890")],
  bedrock: null
})

const bedrockSettings = new BedrockSettings({
  access_key: Redacted.make("AKIAEXAMPLE"),
  access_key_secret: Redacted.make("s3cr3t"),
  region: "us-east-1",
  model: "claude",
  small_fast_model: "haiku",
  base_url: "https://bedrock.example/"
})

const bedrock = new DesiredProvider({
  name: "anthropic",
  type: "anthropic",
  source: [],
  base_url: "https://api.anthropic.com/",
  keys: [],
  bedrock: bedrockSettings
})

/** A provider from the eight canonical values; the type is not checked, as when read from a future row. */
const canonical = (
  fields: readonly [string, string, string, string, string, string, string, string]
): Provider => ({
  name: "p",
  type: fields[0] as Provider["type"],
  base_url: fields[1],
  keys: [],
  bedrock: new BedrockSettings({
    access_key: Redacted.make(fields[2]),
    access_key_secret: Redacted.make(fields[3]),
    region: fields[4],
    model: fields[5],
    small_fast_model: fields[6],
    base_url: fields[7]
  })
})

const encodeSettings = Schema.encodeSync(SettingsColumn)

const readRow = (row: Parameters<ReturnType<typeof toStoredRow>>[0]) => toStoredRow(makeEncryption([]))(row)

/** The stored row the seed would write for a provider, read back through the row transformation. */
const roundTrip = (provider: DesiredProvider) =>
  readRow({
    id: "7f1f0000-0000-4000-8000-000000000001",
    type: provider.type,
    name: provider.name,
    display_name: provider.name,
    enabled: true,
    deleted: false,
    base_url: provider.base_url,
    settings: settingsText(provider.bedrock),
    settings_key_id: null,
    keys: provider.keys.map(Redacted.value),
    key_ids: provider.keys.map(() => null)
  })

// Small pools make equal and unequal pairs both frequent.
const field = fc.constantFrom("", "a", "b", "é", "\"", ",")
const fields = fc.tuple(field, field, field, field, field, field, field, field)

describe("Canonical", () => {
  // Expected digests computed independently:
  // python3 -c 'import hashlib,json; print(hashlib.sha256(json.dumps([...], separators=(",",":")).encode()).hexdigest())'
  it("hashes the fixed-order serialization with SHA-256, lowercase hex", () => {
    expect(hash(openai)).toBe("12e31f04bb5b4176873e41f66fce7acd25be09d647dcb0651c86aeeeeda9b308")
    expect(hash(bedrock)).toBe("d0de78eb69e31b72ec5ac683c356df8f6ca33b3c0d3474c3fdaa5fd41309a4d9")
  })

  it("builds the settings blob with empty fields omitted, null without Bedrock", () => {
    expect(encodeSettings(openai.bedrock)).toBeNull()
    expect(encodeSettings(bedrock.bedrock)).toEqual({
      _type: "bedrock",
      _version: 1,
      region: "us-east-1",
      model: "claude",
      small_fast_model: "haiku",
      base_url: "https://bedrock.example/",
      access_key: "AKIAEXAMPLE",
      access_key_secret: "s3cr3t"
    })
    const partial = new BedrockSettings({ ...bedrockSettings, model: "", base_url: "" })
    expect(Object.keys(encodeSettings(partial) ?? {})).toEqual([
      "_type",
      "_version",
      "access_key",
      "access_key_secret",
      "region",
      "small_fast_model"
    ])
  })

  it("computes the same canonical form from the stored row it would write", () => {
    for (const provider of [openai, bedrock]) {
      const stored = roundTrip(provider)
      expect(stored).toBeInstanceOf(StoredProvider)
      expect(difference(stored as StoredProvider, provider)).toEqual([])
      expect(hash(stored as StoredProvider)).toBe(hash(provider))
    }
  })

  it("reads an undecodable stored blob as unreadable, naming the paths but no values", () => {
    const row = readRow({
      id: "7f1f0000-0000-4000-8000-000000000002",
      type: "anthropic",
      name: "broken",
      display_name: null,
      enabled: true,
      deleted: false,
      base_url: "",
      settings: JSON.stringify({
        _type: "bedrock",
        _version: 2,
        access_key: 42,
        access_key_secret: "leaked-secret-value"
      }),
      settings_key_id: null,
      keys: [],
      key_ids: []
    })
    expect(row).toBeInstanceOf(UnreadableProvider)
    const { reason } = row as UnreadableProvider
    expect(reason).toContain("_version")
    expect(reason).toContain("access_key")
    expect(reason).not.toContain("leaked-secret-value")
    expect(reason).not.toContain("42")
    expect(Either.isLeft(Schema.decodeUnknownEither(SettingsColumn)({ _type: "bedrock", _version: 2 }))).toBe(true)
  })

  it("reports secret differences without values and others with both values", () => {
    const stored = bedrock
    const desired = new DesiredProvider({
      ...bedrock,
      base_url: "https://proxy.example/",
      bedrock: new BedrockSettings({ ...bedrockSettings, access_key_secret: Redacted.make("rotated-secret") })
    })
    expect(difference(stored, desired)).toEqual([
      { field: "base_url", secret: false, stored: "https://api.anthropic.com/", desired: "https://proxy.example/" },
      { field: "bedrock.access_key_secret", secret: true }
    ])
  })

  it.prop("the hash is deterministic", [fields], ([values]) => {
    expect(hash(canonical(values))).toBe(hash(canonical([...values])))
  })

  it.prop(
    "the hash changes when a canonical field changes, and only then",
    [fields, fields],
    ([a, b]) => {
      const [left, right] = [canonical(a), canonical(b)]
      const changed = difference(left, right)
      expect(hash(left) === hash(right)).toBe(changed.length === 0)
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
    }
  )

  it.prop(
    "bearer keys never change the hash",
    [fc.array(fc.string({ minLength: 1 }), { maxLength: 5 })],
    ([keys]) => {
      const withKeys = new DesiredProvider({ ...openai, keys: keys.map((key) => Redacted.make(key)) })
      expect(hash(withKeys)).toBe(hash(openai))
    }
  )
})

describe("differences never show credentials carried in URLs", () => {
  it("replaces user info and secret query values with ***", () => {
    const desired = new DesiredProvider({
      ...openai,
      base_url: "https://seed-user:proxy-token-123@proxy.test/v1/?api_key=query-secret-456"
    })
    const stored = openai
    const [change] = difference(stored, desired)
    expect(change).toEqual({
      field: "base_url",
      secret: false,
      stored: "https://api.openai.com/v1/",
      desired: "https://***@proxy.test/v1/?api_key=***"
    })
  })
  it("a difference hidden in the masked part says so instead of showing two identical values", () => {
    const at = (token: string) =>
      new DesiredProvider({ ...openai, base_url: `https://svc:${token}@proxy.test/v1/?api_key=${token}` })
    const [change] = difference(at("old-token-123"), at("new-token-456"))
    expect(change).toEqual({
      field: "base_url",
      secret: false,
      stored: "https://***@proxy.test/v1/?api_key=***",
      desired: "https://***@proxy.test/v1/?api_key=***",
      hint: "differs only in its masked part (credentials or a secret parameter)"
    })
  })
})
