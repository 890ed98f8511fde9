import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  decodeBase64Strict,
  KeyBytes,
  keyDigest,
  makeCipher,
  nonceLength,
  tagLength
} from "../../../src/crypto/Cipher.js"

const randomKey = () => KeyBytes(randomBytes(32))

/** The digest as openssl computes it: SHA-256 of `aes256gcm` followed by the raw key, first 7 hex characters. */
const opensslDigest = (key: Uint8Array): string => {
  const dir = mkdtempSync(join(tmpdir(), "cipher-test-"))
  try {
    const file = join(dir, "key.bin")
    writeFileSync(file, key)
    const output = execFileSync("sh", ["-c", `printf 'aes256gcm' | cat - "$0" | openssl dgst -sha256`, file], {
      encoding: "utf8",
      timeout: 60_000
    })
    // `SHA2-256(stdin)= <64 hex>` (the label differs between openssl versions; the hex does not).
    const hex = /([0-9a-f]{64})\s*$/.exec(output)?.[1]
    if (hex === undefined) throw new Error(`unexpected openssl output: ${output}`)
    return hex.slice(0, 7)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const subtleKey = (key: Uint8Array) => crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt", "decrypt"])

describe("Cipher", () => {
  it("round-trips ASCII, Unicode, JSON and long values", () => {
    const cipher = makeCipher(randomKey())
    for (
      const value of [
        "sk-ant-api03-abcdefgh",
        "clé 🔑 ключ 鍵",
        JSON.stringify({ _type: "bedrock", _version: 1, access_key_secret: "a\"b\\c'd" }),
        "x".repeat(100_000),
        ""
      ]
    ) {
      const stored = cipher.encrypt(value)
      if (value !== "") expect(stored).not.toContain(value)
      expect(cipher.decrypt(stored)).toEqual(Either.right(value))
    }
  })

  it("stores standard padded base64 of nonce || ciphertext || tag", () => {
    const cipher = makeCipher(randomKey())
    for (const length of [0, 1, 2, 3, 11, 64]) {
      const stored = cipher.encrypt("a".repeat(length))
      expect(stored).toMatch(/^[A-Za-z0-9+/]*={0,2}$/)
      expect(stored.length % 4).toBe(0)
      expect(Buffer.from(stored, "base64").length).toBe(nonceLength + length + tagLength)
    }
  })

  it("uses a fresh nonce for every value", () => {
    const cipher = makeCipher(randomKey())
    const stored = Array.from({ length: 2000 }, () => cipher.encrypt("same plaintext"))
    expect(new Set(stored).size).toBe(stored.length)
    const nonces = stored.map((value) => Buffer.from(value, "base64").subarray(0, nonceLength).toString("hex"))
    expect(new Set(nonces).size).toBe(stored.length)
  })

  it("rejects a value with any single byte flipped (nonce, ciphertext or tag), without quoting it", () => {
    const cipher = makeCipher(randomKey())
    const stored = cipher.encrypt("a secret value")
    const bytes = Buffer.from(stored, "base64")
    for (let index = 0; index < bytes.length; index++) {
      const flipped = Buffer.from(bytes)
      flipped[index] = flipped[index]! ^ 0x01
      const result = cipher.decrypt(flipped.toString("base64"))
      expect(Either.isLeft(result), `byte ${index}`).toBe(true)
      const error = Either.getOrThrow(Either.flip(result))
      expect(error._tag).toBe("CiphertextRejected")
      expect(error.reason).toBe("authentication")
      expect(error.digest).toBe(cipher.digest)
      expect(error.message).not.toContain("a secret value")
      expect(error.message).not.toContain(flipped.toString("base64"))
    }
  })

  it("rejects a value written with another key", () => {
    const stored = makeCipher(randomKey()).encrypt("value")
    const result = makeCipher(randomKey()).decrypt(stored)
    expect(Either.isLeft(result) && result.left.reason).toBe("authentication")
  })

  it.each([
    ["not base64", "not base64!"],
    ["too short for nonce and tag", Buffer.alloc(nonceLength + tagLength - 1).toString("base64")],
    ["empty", ""],
    ["unpadded", "YhAz+lE2fFeeiVPH9voKN7UV1xSDrgcnC0LmNXmaAk1Yg0kPFO3x".slice(0, -2)],
    ["URL-safe alphabet", "YhAz-lE2fFeeiVPH9voKN7UV1xSDrgcnC0LmNXmaAk1Yg0kPFO3x"],
    ["a line break", "YhAz+lE2fFeeiVPH9voKN7UV1xSDrgcn\nC0LmNXmaAk1Yg0kPFO3x"]
  ])("rejects a malformed value (%s)", (_, stored) => {
    const result = makeCipher(KeyBytes(Buffer.alloc(32, "a"))).decrypt(stored)
    expect(Either.isLeft(result) && result.left.reason).toBe("malformed")
  })

  it("decrypts Coder's own backward-compatibility vector (enterprise/dbcrypt/cipher_internal_test.go)", () => {
    // Coder's test: key = 32 bytes of 'a', "hello world" encrypted by its Go implementation.
    const cipher = makeCipher(KeyBytes(Buffer.alloc(32, "a")))
    expect(cipher.decrypt("YhAz+lE2fFeeiVPH9voKN7UV1xSDrgcnC0LmNXmaAk1Yg0kPFO3x")).toEqual(Either.right("hello world"))
  })

  it("computes the digest that openssl computes, for a fixed and for random keys", () => {
    const keys = [
      KeyBytes(Buffer.alloc(32, "a")),
      KeyBytes(Buffer.from(Array.from({ length: 32 }, (_, i) => i))),
      randomKey()
    ]
    for (const key of keys) {
      const expected = opensslDigest(key)
      expect(expected).toMatch(/^[0-9a-f]{7}$/)
      expect(keyDigest(key)).toBe(expected)
      expect(makeCipher(key).digest).toBe(expected)
    }
    // The value Coder's tests pin for 32 bytes of 'a' agrees.
    expect(keyDigest(KeyBytes(Buffer.alloc(32, "a")))).toBe("864f702")
  })

  it("interoperates with WebCrypto AES-GCM in both directions", async () => {
    const key = randomKey()
    const cipher = makeCipher(key)
    const subtle = await subtleKey(key)
    const plaintext = "interop ✓ value"

    const ours = Buffer.from(cipher.encrypt(plaintext), "base64")
    const opened = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: ours.subarray(0, nonceLength), tagLength: tagLength * 8 },
      subtle,
      ours.subarray(nonceLength)
    )
    expect(new TextDecoder().decode(opened)).toBe(plaintext)

    const iv = randomBytes(nonceLength)
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, tagLength: tagLength * 8 },
      subtle,
      new TextEncoder().encode(plaintext)
    )
    const theirs = Buffer.concat([iv, Buffer.from(sealed)]).toString("base64")
    expect(cipher.decrypt(theirs)).toEqual(Either.right(plaintext))
  })

  it("refuses to brand keys of the wrong length", () => {
    expect(KeyBytes.is(randomBytes(31))).toBe(false)
    expect(KeyBytes.is(randomBytes(33))).toBe(false)
    expect(KeyBytes.is(randomBytes(32))).toBe(true)
  })

  it("does not print the key", () => {
    const key = KeyBytes(Buffer.alloc(32, "k"))
    const cipher = makeCipher(key)
    expect(JSON.stringify(cipher)).not.toContain("kkkk")
    expect(JSON.stringify(cipher)).not.toContain(Buffer.from(key).toString("base64"))
  })
})

describe("decodeBase64Strict", () => {
  it.each([
    ["", ""],
    ["Zg==", "66"],
    ["Zm8=", "666f"],
    ["Zm9v", "666f6f"],
    ["+/+/", "fbffbf"]
  ])("accepts canonical %j", (text, hex) => {
    expect(decodeBase64Strict(text)?.toString("hex")).toBe(hex)
  })

  it.each([
    ["missing padding", "Zg"],
    ["short padding", "Zg="],
    ["too much padding", "Zm8=="],
    ["padding inside", "Zg==Zg=="],
    ["URL-safe alphabet", "-_-_"],
    ["leading space", " Zm9v"],
    ["trailing newline", "Zm9v\n"],
    ["space inside", "Zm 9v"],
    ["trailing garbage", "Zm9v!"],
    ["non-zero padding bits", "Zh=="],
    ["length not a multiple of 4", "Zm9vZ"]
  ])("rejects %s", (_, text) => {
    expect(decodeBase64Strict(text)).toBeUndefined()
  })
})
