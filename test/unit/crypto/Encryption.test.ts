import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer, Option } from "effect"
import { randomBytes } from "node:crypto"
import { KeyBytes, makeCipher } from "../../../src/crypto/Cipher.js"
import { type DbcryptKeyRow, Encryption, make, testPlaintext } from "../../../src/crypto/Encryption.js"
import { encryptionKeysVariable } from "../../../src/crypto/EncryptionKeys.js"

const newCipher = () => makeCipher(KeyBytes(randomBytes(32)))

/** A `dbcrypt_keys` row as the server or this program writes it for an active key. */
const activeRow = (cipher = newCipher()): DbcryptKeyRow => ({
  active_key_digest: cipher.digest,
  revoked_key_digest: null,
  test: cipher.encrypt(testPlaintext)
})

const revokedRow = (cipher = newCipher()): DbcryptKeyRow => ({
  active_key_digest: null,
  revoked_key_digest: cipher.digest,
  test: cipher.encrypt(testPlaintext)
})

const context = { provider: "openai", column: "ai_provider_keys.api_key" }

const mismatch = (service: typeof Encryption.Service, rows: ReadonlyArray<DbcryptKeyRow>) =>
  Effect.flip(service.verify(rows))

describe("Encryption with keys", () => {
  const primary = newCipher()
  const secondary = newCipher()
  const service = make([primary, secondary])

  it("names the primary and every configured digest", () => {
    expect(service.primaryDigest).toEqual(Option.some(primary.digest))
    expect(service.digests).toEqual([primary.digest, secondary.digest])
  })

  it("encrypts with the primary key; the value decrypts with it and names it", () => {
    const sealed = service.encrypt("sk-live-secret")
    expect(sealed.keyId).toBe(primary.digest)
    expect(sealed.value).not.toContain("sk-live-secret")
    expect(primary.decrypt(sealed.value)).toEqual(Either.right("sk-live-secret"))
    expect(service.decrypt(sealed.value, sealed.keyId, context)).toEqual(Either.right("sk-live-secret"))
  })

  it.each([
    ["empty", ""],
    ["spaces", "   "],
    ["tabs and line breaks", "\t\r\n"],
    ["NEL and no-break space (Go's unicode.IsSpace)", "\u0085\u00a0\u3000"]
  ])("leaves a blank value (%s) in plaintext, as Coder does", (_, value) => {
    expect(service.encrypt(value)).toEqual({ value, keyId: null })
  })

  it("encrypts a value that Go's strings.TrimSpace does not consider blank (a byte-order mark)", () => {
    expect(service.encrypt("\ufeff").keyId).toBe(primary.digest)
  })

  it("decrypts a value written with a secondary key, and plaintext by a NULL key id", () => {
    expect(service.decrypt(secondary.encrypt("old value"), secondary.digest, context)).toEqual(
      Either.right("old value")
    )
    expect(service.decrypt("plain value", null, context)).toEqual(Either.right("plain value"))
  })

  it.each(
    [
      ["unknown key", () => ({ value: newCipher().encrypt("sk-hidden-value"), keyId: "abcdef0" })],
      ["malformed", () => ({ value: "sk-hidden-value", keyId: primary.digest })],
      ["authentication", () => ({ value: secondary.encrypt("sk-hidden-value"), keyId: primary.digest })]
    ] as const
  )("a value that does not decrypt (%s) names the provider, column and digest, never the value", (reason, stored) => {
    const { keyId, value } = stored()
    const error = Either.getOrThrow(Either.flip(service.decrypt(value, keyId, context)))
    expect(error._tag).toBe("DecryptionFailed")
    expect(error.reason).toBe(reason)
    expect(error.digest).toBe(keyId)
    for (const text of [error.message, JSON.stringify(error)]) {
      expect(text).toContain("openai")
      expect(text).toContain("ai_provider_keys.api_key")
      expect(text).toContain(keyId)
      expect(text).not.toContain("sk-hidden-value")
      expect(text).not.toContain(value)
    }
    expect(error.message).toContain("Fix:")
  })
})

describe("Encryption.verify", () => {
  it.effect("an empty registry: the primary must be inserted, with a test value it decrypts to `coder`", () =>
    Effect.gen(function*() {
      const primary = newCipher()
      const inserted = yield* make([primary, newCipher()]).verify([])
      const row = Option.getOrThrow(inserted)
      expect(row.active_key_digest).toBe(primary.digest)
      expect(primary.decrypt(row.test)).toEqual(Either.right("coder"))
    }))

  it.effect("the primary already registered and every active key configured: nothing to insert", () =>
    Effect.gen(function*() {
      const [primary, secondary] = [newCipher(), newCipher()]
      const rows = [revokedRow(), activeRow(secondary), activeRow(primary)]
      expect(yield* make([primary, secondary]).verify(rows)).toEqual(Option.none())
    }))

  it.effect("a new primary with the registered key as a secondary: the primary must be inserted", () =>
    Effect.gen(function*() {
      const [primary, old] = [newCipher(), newCipher()]
      const inserted = yield* make([primary, old]).verify([activeRow(old)])
      expect(Option.map(inserted, (row) => row.active_key_digest)).toEqual(Option.some(primary.digest))
    }))

  it.effect("revoked keys need not be configured", () =>
    Effect.gen(function*() {
      const primary = newCipher()
      expect(yield* make([primary]).verify([revokedRow(), activeRow(primary)])).toEqual(Option.none())
    }))

  it.effect("an active key that is not configured fails, naming its digest and the fix", () =>
    Effect.gen(function*() {
      const [primary, lost] = [newCipher(), newCipher()]
      const error = yield* mismatch(make([primary]), [activeRow(lost), activeRow(primary)])
      expect(error._tag).toBe("EncryptionKeyMismatch")
      expect(error.missing).toEqual([lost.digest])
      expect(error.undecryptable).toEqual([])
      expect(error.revokedPrimary).toBeNull()
      expect(error.message).toContain(lost.digest)
      expect(error.message).toContain(`add the key(s) with digest ${lost.digest} to ${encryptionKeysVariable}`)
      expect(error.message).toContain("secondary")
      expect(error.message).toContain("keys decrypt")
    }))

  it.effect("no key configured while an active key is registered fails the same way (the data may be encrypted)", () =>
    Effect.gen(function*() {
      const registered = newCipher()
      const error = yield* mismatch(make([]), [activeRow(registered)])
      expect(error.missing).toEqual([registered.digest])
      expect(error.keysConfigured).toBe(false)
      expect(error.message).toContain("no encryption key is configured")
      expect(error.message).toContain(registered.digest)
    }))

  it.effect("a configured key that does not decrypt its row's test value to `coder` fails", () =>
    Effect.gen(function*() {
      const primary = newCipher()
      const wrongTest = { ...activeRow(primary), test: newCipher().encrypt(testPlaintext) }
      const wrongPlaintext = { ...activeRow(primary), test: primary.encrypt("not coder") }
      for (const row of [wrongTest, wrongPlaintext]) {
        const error = yield* mismatch(make([primary]), [row])
        expect(error.undecryptable).toEqual([primary.digest])
        expect(error.missing).toEqual([])
        expect(error.message).toContain("do not decrypt their test value")
      }
    }))

  it.effect("a revoked primary fails, even with nothing else wrong", () =>
    Effect.gen(function*() {
      const [primary, active] = [newCipher(), newCipher()]
      const error = yield* mismatch(make([primary, active]), [revokedRow(primary), activeRow(active)])
      expect(error.revokedPrimary).toBe(primary.digest)
      expect(error.missing).toEqual([])
      expect(error.message).toContain(`the primary (first) key ${primary.digest} has been revoked`)
      expect(error.message).toContain("put a key that is not revoked first")
    }))

  it.effect("reports every problem at once", () =>
    Effect.gen(function*() {
      const [primary, lost1, lost2] = [newCipher(), newCipher(), newCipher()]
      const error = yield* mismatch(make([primary]), [revokedRow(primary), activeRow(lost1), activeRow(lost2)])
      expect(error.missing).toEqual([lost1.digest, lost2.digest])
      expect(error.revokedPrimary).toBe(primary.digest)
    }))
})

describe("Encryption in plaintext mode", () => {
  it.effect("the plaintext layer: no digest, values stored as they are with NULL key ids", () =>
    Effect.gen(function*() {
      const service = yield* Encryption
      expect(service.primaryDigest).toEqual(Option.none())
      expect(service.digests).toEqual([])
      expect(service.encrypt("sk-plain")).toEqual({ value: "sk-plain", keyId: null })
      expect(service.decrypt("sk-plain", null, context)).toEqual(Either.right("sk-plain"))
      const unknown = Either.getOrThrow(Either.flip(service.decrypt("c2VjcmV0", "abcdef0", context)))
      expect(unknown.reason).toBe("unknown key")
      // An empty registry, or one with revoked keys only: nothing to insert, nothing to check.
      expect(yield* service.verify([])).toEqual(Option.none())
      expect(yield* service.verify([revokedRow()])).toEqual(Option.none())
    }).pipe(Effect.provide(Encryption.plaintext)))
})

describe("Encryption.layer (Config)", () => {
  const withEnv = (env: Record<string, string>) =>
    Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

  it.effect("reads the keys from CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS", () =>
    Effect.gen(function*() {
      const key = randomBytes(32)
      const service = yield* Effect.provide(
        Encryption,
        Encryption.layer.pipe(Layer.provide(withEnv({ [encryptionKeysVariable]: key.toString("base64") })))
      )
      expect(service.primaryDigest).toEqual(Option.some(makeCipher(KeyBytes(key)).digest))
    }))

  it.effect("unset: plaintext mode", () =>
    Effect.gen(function*() {
      const service = yield* Effect.provide(Encryption, Encryption.layer.pipe(Layer.provide(withEnv({}))))
      expect(service.primaryDigest).toEqual(Option.none())
    }))

  it.effect("an invalid key fails building the layer with InvalidConfiguration", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.provide(Encryption, Encryption.layer.pipe(Layer.provide(withEnv({ [encryptionKeysVariable]: "abc" }))))
      )
      expect(error._tag).toBe("InvalidConfiguration")
    }))
})
