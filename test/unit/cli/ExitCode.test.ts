import { ValidationError } from "@effect/cli"
import { HelpDoc } from "@effect/cli"
import { describe, expect, it } from "@effect/vitest"
import { Cause, ConfigError, FiberId } from "effect"
import { readFileSync } from "node:fs"
import { KeyOperationRefused } from "../../../src/admin/KeyOperationRefused.js"
import {
  ExitCode,
  exitCodeForCause,
  exitCodeForError,
  exitCodeHelp,
  exitCodeMeanings,
  exitCodes
} from "../../../src/cli/ExitCode.js"
import { HashConflict, IndexedNameCollision, InvalidConfiguration } from "../../../src/core/Errors.js"

describe("exit codes", () => {
  it("maps typed failures by tag", () => {
    expect(exitCodeForError(new InvalidConfiguration({ variables: ["X"], rule: "r", fix: "f" }))).toBe(2)
    expect(exitCodeForError(HashConflict.of([{ provider: "p", differences: [] }]))).toBe(3)
    expect(
      exitCodeForError(
        new IndexedNameCollision({ provider: "p", existing: [], conflicting: [], reason: "r", remediation: "f" })
      )
    ).toBe(4)
    expect(exitCodeForError({ _tag: "LockTimeout" })).toBe(5)
    expect(exitCodeForError({ _tag: "DatabaseError" })).toBe(6)
    expect(exitCodeForError(new KeyOperationRefused({ operation: "rotate", reason: "r", fix: "f" }))).toBe(2)
    expect(exitCodeForError({ _tag: "EncryptionKeyMismatch" })).toBe(7)
    expect(exitCodeForError({ _tag: "DecryptionFailed" })).toBe(7)
  })

  it("maps usage and Config errors to 2, anything else to 1", () => {
    expect(exitCodeForError(ValidationError.invalidValue(HelpDoc.p("bad")))).toBe(2)
    expect(exitCodeForError(ConfigError.MissingData([], "missing"))).toBe(2)
    expect(exitCodeForError({ _tag: "SomethingElse" })).toBe(1)
    expect(exitCodeForError(new Error("boom"))).toBe(1)
  })

  it("maps causes: failures by tag, defects to 1, interruptions to 130", () => {
    expect(exitCodeForCause(Cause.fail(HashConflict.of([{ provider: "p", differences: [] }])))).toBe(3)
    expect(exitCodeForCause(Cause.die(new Error("boom")))).toBe(ExitCode.Unexpected)
    expect(exitCodeForCause(Cause.interrupt(FiberId.none))).toBe(130)
  })

  it("has a row for every typed failure, and the help text lists every code", () => {
    const help = exitCodeHelp()
    for (const code of Object.values(ExitCode)) expect(help).toContain(`${code} ${exitCodeMeanings[code]}`)
    for (const tag of Object.keys(exitCodes)) expect(help).toContain(tag)
  })

  it("the README's exit-code table has a row for every code, naming every failure of that code", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8")
    const table = readme.slice(readme.indexOf("### Exit codes"), readme.indexOf("## Operator's guide"))
    for (const code of Object.values(ExitCode)) {
      const row = table.split("\n").find((line) => line.startsWith(`| ${code} |`))
      expect(row, `no README row for exit code ${code}`).toBeDefined()
      for (const [tag, tagCode] of Object.entries(exitCodes)) {
        if (tagCode === code) expect(row, `${tag} missing from the README row of ${code}`).toContain(`\`${tag}\``)
      }
    }
  })
})
