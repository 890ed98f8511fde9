import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { isSecretName, maskUrl, maskUrlsIn } from "../../../src/core/UrlMask.js"

describe("maskUrl", () => {
  it.each([
    ["https://svc:Token@proxy.example/v1?api_key=Q", "https://***@proxy.example/v1?api_key=***"],
    // The mask that broke: a password holding `@` showed as `https://***@Pw@proxy/`.
    ["https://svc:At@Pw@proxy/", "https://***@proxy/"],
    ["https://svc:a:b:c@proxy/v1", "https://***@proxy/v1"],
    ["https://svc:pa/ss@proxy/v1", "https://***@proxy/v1"],
    ["https://svc:pa?ss@proxy/v1?x=1", "https://***@proxy/v1?x=1"],
    ["https://svc:pa#ss@proxy/v1", "https://***@proxy/v1"],
    ["https://token-only@proxy/v1", "https://***@proxy/v1"],
    ["https://svc:p%40ss@proxy/", "https://***@proxy/"],
    ["https://proxy/v1;token=abc;v=1/x;Sig=9/y", "https://proxy/v1;token=***;v=1/x;Sig=***/y"],
    [
      "https://proxy/v1?X-Amz-Signature=s&X-Amz-Credential=c&api-version=2024-06-01",
      "https://proxy/v1?X-Amz-Signature=***&X-Amz-Credential=***&api-version=2024-06-01"
    ],
    [
      "https://proxy/v1?client_secret=a&x-api-key=b&ACCESS_TOKEN=c&api%5Fkey=d&password=e",
      "https://proxy/v1?client_secret=***&x-api-key=***&ACCESS_TOKEN=***&api%5Fkey=***&password=***"
    ],
    ["https://proxy/v1?a=1;sig=2;b=3", "https://proxy/v1?a=1;sig=***;b=3"],
    ["https://proxy/v1?pw=hunter2&code=4/0Ab&otp=123456", "https://proxy/v1?pw=***&code=***&otp=***"],
    ["https://proxy/v1?token=a=b=c&model=x", "https://proxy/v1?token=***&model=x"],
    ["https://proxy/v1#access_token=T&state=s", "https://proxy/v1#access_token=***&state=s"],
    ["https://proxy/v1?key=1#token=2", "https://proxy/v1?key=***#token=***"],
    // An `@` in a query value cannot be told from a password's: masked up to it, the safe side.
    ["https://proxy/v1?email=a@b.example&token=T", "https://***@b.example&token=***"],
    ["https://svc:tok@прокси.рф/v1?ключ=1&secret=2", "https://***@прокси.рф/v1?ключ=1&secret=***"],
    ["https://svc:tok@xn--e1afmkfd.xn--p1ai/v1", "https://***@xn--e1afmkfd.xn--p1ai/v1"],
    ["https://svc:tok@[::1]:8443/v1", "https://***@[::1]:8443/v1"],
    // Not URLs a parser accepts: what looks like user information is masked all the same.
    ["svc:tok@proxy/v1", "***@proxy/v1"],
    ["https:/svc:tok@proxy", "***@proxy"],
    ["//svc:tok@proxy", "//***@proxy"],
    ["https://proxy/v1?token", "https://proxy/v1?token"],
    ["https://proxy/v1?token=", "https://proxy/v1?token="],
    // Nothing secret: byte for byte.
    ["https://api.openai.com/v1/", "https://api.openai.com/v1/"],
    [
      "https://proxy.internal:8443/v1;v=2?model=gpt&region=eu#frag",
      "https://proxy.internal:8443/v1;v=2?model=gpt&region=eu#frag"
    ],
    ["us-east-1", "us-east-1"],
    ["", ""],
    ["%%%", "%%%"]
  ])("%s shows as %s", (url, shown) => {
    expect(maskUrl(url)).toBe(shown)
  })

  it("masks very long URLs in linear time", () => {
    const long = `https://svc:${"p".repeat(200_000)}@proxy/${"a/".repeat(50_000)}?${"x=1&".repeat(20_000)}token=T`
    const started = performance.now()
    const shown = maskUrl(long)
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(shown.startsWith("https://***@proxy/a/a/")).toBe(true)
    expect(shown.endsWith("x=1&token=***")).toBe(true)
    expect(shown).not.toContain("pppp")
  })

  it("finds URLs in long texts in linear time, and masks one behind an overlong scheme", () => {
    const words = [`${"a".repeat(100_000)}_`, "a1".repeat(50_000), `${"x".repeat(100_000)}:/`]
    const started = performance.now()
    expect(words.map(maskUrlsIn)).toEqual(words)
    expect(performance.now() - started).toBeLessThan(2_000)
    const shown = maskUrlsIn(`see ${"s".repeat(100)}://user:secret@host/path?token=T and more`)
    expect(shown).not.toContain("secret")
    expect(shown).toContain("***@host/path?token=***")
  })

  it("never throws, and masking twice changes nothing more", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (text) => {
        const once = maskUrl(text)
        expect(maskUrl(once)).toBe(once)
      }),
      { numRuns: 2_000 }
    )
  })

  // Passwords from any code points, `@ : / ? #` included; the canary marks every piece of them.
  const password = fc.array(fc.constantFrom("@", ":", "/", "?", "#", "%", ";", "=", "&", "é", "🤖", "x"), {
    maxLength: 8
  })
    .map((pieces) => pieces.map((piece) => `CNRY${piece}`).join(""))
  const host = fc.constantFrom("proxy.example", "прокси.рф", "[::1]:8443", "10.0.0.1:8080")
  const tail = fc.constantFrom("", "/", "/v1", "/v1?model=x", "/v1;v=2", "/v1#frag")

  it("never shows any piece of a password in the user information", () => {
    fc.assert(
      fc.property(password, host, tail, (secret, host, tail) => {
        expect(maskUrl(`https://svc:${secret}@${host}${tail}`)).not.toContain("CNRY")
        expect(maskUrl(`https://${secret}@${host}${tail}`)).not.toContain("CNRY")
      }),
      { numRuns: 2_000 }
    )
  })

  const secretName = fc.constantFrom(
    "key",
    "api_key",
    "x-api-key",
    "Token",
    "access_token",
    "client_secret",
    "SIG",
    "signature",
    "password",
    "X-Amz-Security-Token",
    "apiKey"
  )
  const value = fc.stringMatching(/^[A-Za-z0-9._~%@:/+-]{0,12}$/).map((text) => `CNRY${text}`)

  it("never shows the value of a secret-named query, matrix or fragment parameter", () => {
    fc.assert(
      fc.property(
        secretName,
        value,
        fc.constantFrom("?", "?a=1&", "?a=1;", ";", "#", "#a=1&"),
        (name, value, before) => {
          const shown = maskUrl(`https://proxy.example/v1${before}${name}=${value}`)
          expect(shown).not.toContain("CNRY")
          // A value holding `@` is masked with everything before it (user information, the safe side).
          if (!value.includes("@")) expect(shown).toContain(`${name}=***`)
        }
      ),
      { numRuns: 1_000 }
    )
  })

  it("keeps URLs without user information or secret parameters exactly", () => {
    const safe = fc.stringMatching(/^[a-z0-9.-]{1,12}$/)
    fc.assert(fc.property(safe, safe, safe, (a, b, c) => {
      const url = `https://${a}.example:8443/${b};v=${c}?model=${c}&region=${a}#${b}`
      expect(maskUrl(url)).toBe(url)
    }))
  })
})

describe("isSecretName", () => {
  it.each([
    "key",
    "KEY",
    "api_key",
    "apiKey",
    "x-api-key",
    "token",
    "access_token",
    "id_token",
    "secret",
    "client_secret",
    "password",
    "passwd",
    "pwd",
    "pw",
    "PW",
    "code",
    "Code",
    "auth_code",
    "otp",
    "sig",
    "Signature",
    "X-Amz-Credential",
    "auth",
    "session_id",
    "jwt",
    "api%5Fkey"
  ])(
    "%s is secret",
    (name) => expect(isSecretName(name)).toBe(true)
  )
  it.each([
    "model",
    "region",
    "api-version",
    "v",
    "deployment",
    "user",
    "format",
    "%",
    "encode",
    "region_code",
    "zipcode",
    "unicode",
    "footprint"
  ])(
    "%s is not",
    (name) => expect(isSecretName(name)).toBe(false)
  )
})
