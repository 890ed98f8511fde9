import { describe, expect, it } from "@effect/vitest"
import { nearMiss } from "../../../src/core/UrlNearMiss.js"

describe("nearMiss", () => {
  it.each([
    ["https://api.openai.com/v1/", "https://api.openai.com/v1", "differs only by a trailing slash"],
    ["https://API.openai.com/v1", "https://api.openai.com/v1", "differs only by the letter case of the scheme or host"],
    ["HTTPS://api.openai.com/v1", "https://api.openai.com/v1", "differs only by the letter case of the scheme or host"],
    ["https://api.openai.com:443/v1", "https://api.openai.com/v1", "differs only by a default port"],
    ["http://proxy:80/", "http://proxy", "differs only by a default port and a trailing slash"],
    [
      "https://svc:pw@Proxy.example/v1/",
      "https://svc:pw@proxy.example/v1",
      "differs only by the letter case of the scheme or host and a trailing slash"
    ]
  ])("%s vs %s: %s", (stored, desired, hint) => {
    expect(nearMiss(stored, desired)).toBe(hint)
  })

  it.each([
    ["https://api.openai.com/v1", "https://api.openai.com/v2"],
    ["https://api.openai.com/V1", "https://api.openai.com/v1"],
    ["https://api.openai.com:8443/v1", "https://api.openai.com/v1"],
    ["http://api.openai.com/v1", "https://api.openai.com/v1"],
    ["not a url", "not a url/"],
    ["https://a.example/v1?x=1", "https://a.example/v1?x=2"],
    ["https://svc:old@Proxy.example/v1", "https://svc:new@proxy.example/v1"]
  ])("%s vs %s: a real difference, no hint", (stored, desired) => {
    expect(nearMiss(stored, desired)).toBeUndefined()
  })
})
