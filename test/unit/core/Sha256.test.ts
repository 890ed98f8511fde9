import { describe, expect, it } from "@effect/vitest"
import { createHash, randomBytes, randomInt } from "node:crypto"
import { sha256Hex } from "../../../src/core/Sha256.js"

const reference = (text: string) => createHash("sha256").update(text, "utf8").digest("hex")

/** Text of `length` UTF-16 units, ASCII or not: 1- to 4-byte UTF-8 characters and lone surrogates. */
const randomText = (length: number) =>
  Array.from({ length }, () => {
    const pick = randomInt(5)
    return pick === 0
      ? String.fromCharCode(0x20 + randomInt(0x5f))
      : pick === 1
      ? String.fromCharCode(0x80 + randomInt(0x780))
      : pick === 2
      ? String.fromCharCode(0x800 + randomInt(0xd000))
      : pick === 3
      ? String.fromCodePoint(0x10000 + randomInt(0x10000))
      : String.fromCharCode(0xd800 + randomInt(0x800))
  }).join("")

describe("sha256Hex", () => {
  it("matches the FIPS 180-4 test vectors", () => {
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    expect(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    )
  })

  it("matches node:crypto at every length around the block boundaries", () => {
    for (let length = 0; length <= 200; length++) {
      const text = "x".repeat(length)
      expect(sha256Hex(text), `length ${length}`).toBe(reference(text))
    }
  })

  it("matches node:crypto over random texts, long after short and back (the buffer is reused)", () => {
    for (let i = 0; i < 500; i++) {
      const text = i % 50 === 0 ? randomText(5000 + randomInt(5000)) : randomText(randomInt(300))
      expect(sha256Hex(text)).toBe(reference(text))
    }
    const bytes = randomBytes(3000).toString("latin1")
    expect(sha256Hex(bytes)).toBe(reference(bytes))
  })
})
