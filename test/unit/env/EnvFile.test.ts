import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { parseEnvFile } from "../../../src/env/EnvFile.js"

describe("parseEnvFile", () => {
  it.effect("reads KEY=VALUE lines, comments, export, quotes and escapes", () =>
    Effect.gen(function*() {
      const text = [
        "# a comment",
        "",
        "PLAIN=value",
        "SPACED = spaced value  # trailing comment",
        "HASH=abc#def",
        "export EXPORTED=yes",
        "SINGLE='literal \\n # kept'",
        "DOUBLE=\"line\\nbreak \\\"quoted\\\" # kept\" # comment",
        "EMPTY=",
        "EMPTY_QUOTED=\"\"",
        "WINDOWS=crlf\r",
        "PLAIN=later wins"
      ].join("\n")
      expect(Object.fromEntries(yield* parseEnvFile("test.env", text))).toEqual({
        PLAIN: "later wins",
        SPACED: "spaced value",
        HASH: "abc#def",
        EXPORTED: "yes",
        SINGLE: "literal \\n # kept",
        DOUBLE: "line\nbreak \"quoted\" # kept",
        EMPTY: "",
        EMPTY_QUOTED: "",
        WINDOWS: "crlf"
      })
    }))

  it.effect.each([
    ["no equals sign", "JUSTAKEY"],
    ["invalid name", "1BAD=x"],
    ["unclosed double quote", "KEY=\"sk-live-unclosed"],
    ["unclosed single quote", "KEY='sk-live-unclosed"],
    ["text after the closing quote", "KEY=\"a\" b"]
  ])("rejects %s with the line number and without the line's content", ([, line]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(parseEnvFile("secrets.env", `OK=1\n${line}`))
      expect(error._tag).toBe("EnvFileError")
      expect(error.message).toContain("secrets.env:2")
      expect(error.message).not.toContain(line)
      expect(error.message).not.toContain("sk-live")
    }))
})
