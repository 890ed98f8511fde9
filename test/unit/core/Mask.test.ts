import { describe, expect, it } from "@effect/vitest"
import { mask } from "../../../src/core/Mask.js"

describe("mask", () => {
  it.each([
    ["short", "s...t"],
    ["thisisquitelong", "th...ng"],
    ["sk-ant-api03-abcdefgh", "sk-a...efgh"],
    ["abcd", "..."],
    ["", ""]
  ])("SPEC §8 example %j -> %j", (secret, expected) => {
    expect(mask(secret)).toBe(expected)
  })

  it.each([
    ["a", "..."],
    ["abcdefghi", "a...i"],
    ["abcdefghij", "ab...ij"],
    ["abcdefghijklmnopqrs", "ab...rs"],
    ["abcdefghijklmnopqrst", "abcd...qrst"]
  ])("reveals by length thresholds: %j -> %j", (secret, expected) => {
    expect(mask(secret)).toBe(expected)
  })

  it("counts code points, not UTF-16 units", () => {
    // 5 code points but 10 UTF-16 units: reveals 1 point each side, never half a surrogate pair.
    expect(mask("🔑🔑🔒🔑🗝")).toBe("🔑...🗝")
    expect(mask("🔑🔑🔑🔑")).toBe("...")
  })
})
