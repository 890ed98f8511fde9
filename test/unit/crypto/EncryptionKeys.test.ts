import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import type { InvalidConfiguration } from "../../../src/core/Errors.js"
import { KeyBytes, keyDigest } from "../../../src/crypto/Cipher.js"
import { encryptionKeysVariable, loadEncryptionKeys, parseEncryptionKeys } from "../../../src/crypto/EncryptionKeys.js"

const newKey = (bytes = 32) => randomBytes(bytes).toString("base64")

const parse = (value: string) => parseEncryptionKeys(Redacted.make(value))

const digests = (value: string) => Either.map(parse(value), (ciphers) => ciphers.map((cipher) => cipher.digest))

const digestOf = (key: string) => keyDigest(KeyBytes(Buffer.from(key, "base64")))

/** The error for a list, which must never quote any entry of it. */
const failure = (value: string): InvalidConfiguration => {
  const error = Either.getOrThrow(Either.flip(parse(value)))
  const printed = [error.message, JSON.stringify(error), String(error)]
  for (const entry of value.split(",").filter((entry) => entry.trim().length >= 4)) {
    for (const text of printed) expect(text).not.toContain(entry.trim())
  }
  expect(error.variables).toEqual([encryptionKeysVariable])
  return error
}

/** A 32-byte key whose base64 holds `+` or `/`, so that a URL-safe variant differs. */
const keyWithUrlUnsafeCharacters = (): string => {
  for (;;) {
    const key = newKey()
    if (/[+/]/.test(key)) return key
  }
}

describe("parseEncryptionKeys", () => {
  it("reads no key from an empty value: encryption off", () => {
    expect(digests("")).toEqual(Either.right([]))
  })

  it("keeps the order, the primary first, and names each key by its digest", () => {
    const keys = [newKey(), newKey(), newKey()]
    expect(digests(keys.join(","))).toEqual(Either.right(keys.map(digestOf)))
  })

  it.each([31, 33, 16, 64, 0])("rejects a key of %i bytes, naming its position and not its value", (length) => {
    const keys = [newKey(), length === 0 ? "" : newKey(length), newKey()]
    const error = failure(keys.join(","))
    expect(error.rule).toContain("entry 2 of 3")
    expect(error.rule).toContain(`${length} bytes`)
    expect(error.rule).toContain("32 bytes")
    expect(error.fix).toContain("openssl rand -base64 32")
  })

  const nonStrict: ReadonlyArray<readonly [string, (key: string) => string]> = [
    ["without padding", (key) => key.replace(/=+$/, "")],
    ["in the URL-safe alphabet", (key) => key.replaceAll("+", "-").replaceAll("/", "_")],
    ["with a leading space", (key) => ` ${key}`],
    ["with a trailing space", (key) => `${key} `],
    ["with a trailing newline", (key) => `${key}\n`],
    ["with a line break inside", (key) => `${key.slice(0, 20)}\n${key.slice(20)}`],
    ["with trailing garbage", (key) => `${key}!`],
    ["with a second padding character", (key) => `${key}=`],
    ["with non-zero padding bits", (key) => `${key.slice(0, 42)}${key[42] === "B" ? "C" : "B"}=`],
    ["quoted", (key) => `"${key}"`]
  ]

  it.each(nonStrict)("rejects a key %s, naming its position and not its value", (_, spoil) => {
    const key = keyWithUrlUnsafeCharacters()
    const spoiled = spoil(key)
    expect(spoiled).not.toBe(key)
    // Node alone would have decoded most of these to a 32-byte key.
    const error = failure([newKey(), spoiled].join(","))
    expect(error.rule).toContain("entry 2 of 2")
    expect(error.rule).toContain("strict standard base64")
    expect(error.message).not.toContain(key)
  })

  it("does not trim around the commas", () => {
    const error = failure(`${newKey()}, ${newKey()}`)
    expect(error.rule).toContain("entry 2 of 2")
  })

  it.each([
    ["an empty entry", (a: string, b: string) => `${a},,${b}`, "entry 2 of 3"],
    ["a trailing comma", (a: string, b: string) => `${a},${b},`, "entry 3 of 3"],
    ["a leading comma", (a: string, b: string) => `,${a},${b}`, "entry 1 of 3"]
  ])("rejects %s", (_, list, position) => {
    expect(failure(list(newKey(), newKey())).rule).toContain(position)
  })

  it("rejects a repeated key, naming both positions", () => {
    const [a, b] = [newKey(), newKey()]
    const error = failure([a, b, a].join(","))
    expect(error.rule).toBe("entry 3 of 3 repeats entry 1 of 3")
  })

  it("rejects two different keys that share a digest", () => {
    // 7 hex characters are 28 bits: a birthday search finds two keys with one digest in about 2^14 tries.
    const byDigest = new Map<string, string>()
    let pair: readonly [string, string] | undefined
    for (let tries = 0; pair === undefined && tries < 1 << 20; tries++) {
      const key = newKey()
      const digest = digestOf(key)
      const earlier = byDigest.get(digest)
      if (earlier === undefined) byDigest.set(digest, key)
      else pair = [earlier, key]
    }
    if (pair === undefined) throw new Error("no two keys with one digest in 2^20 tries")
    const error = failure([pair[0], newKey(), pair[1]].join(","))
    expect(error.rule).toContain("entry 3 of 3 and entry 1 of 3 are different keys with the same digest")
    expect(error.rule).toContain(digestOf(pair[0]))
  })
})

describe("loadEncryptionKeys (Config)", () => {
  const withEnv = (env: Record<string, string>) =>
    loadEncryptionKeys.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))

  it.effect("unset: no keys", () =>
    Effect.gen(function*() {
      expect(yield* withEnv({})).toEqual([])
    }))

  it.effect("set: the keys, primary first", () =>
    Effect.gen(function*() {
      const keys = [newKey(), newKey()]
      const ciphers = yield* withEnv({ [encryptionKeysVariable]: keys.join(",") })
      expect(ciphers.map((cipher) => cipher.digest)).toEqual(keys.map(digestOf))
    }))

  it.effect("invalid: an InvalidConfiguration naming the variable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(withEnv({ [encryptionKeysVariable]: newKey(31) }))
      expect(error._tag).toBe("InvalidConfiguration")
      expect(error.message).toContain(encryptionKeysVariable)
      expect(error.message).toContain("entry 1 of 1")
    }))
})
