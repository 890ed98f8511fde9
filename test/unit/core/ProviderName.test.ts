import { describe, expect, it } from "@effect/vitest"
import { isValidProviderName, maxProviderNameLength } from "../../../src/core/ProviderName.js"

describe("the provider name rule", () => {
  it("accepts lowercase words joined by single hyphens, up to the length limit", () => {
    expect(["openai", "openai-eu", "a1-b2-c3", "a".repeat(maxProviderNameLength)].map(isValidProviderName))
      .toEqual([true, true, true, true])
  })

  it("refuses other shapes and longer names", () => {
    expect(
      ["", "OpenAI", "-a", "a-", "a--b", "a_b", "ä", "a".repeat(maxProviderNameLength + 1)].map(isValidProviderName)
    )
      .toEqual([false, false, false, false, false, false, false, false])
  })
})
