import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { join } from "node:path"

const coreDir = join(import.meta.dirname, "../../../src/core")

const files = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  )

const specifiers = (source: string): Array<string> =>
  Array.from(source.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g), (match) => match[1] ?? "")

const forbidden = (specifier: string): boolean =>
  specifier.startsWith("node:") ||
  builtinModules.includes(specifier) ||
  /^@effect\/(sql|cli|platform)/.test(specifier) ||
  specifier.includes("/cli/") ||
  specifier.includes("/db/")

describe("layering", () => {
  it("finds the core modules", () => {
    expect(files(coreDir).length).toBeGreaterThan(5)
  })

  it.each(files(coreDir).map((file) => [file.slice(coreDir.length + 1), file]))(
    "%s imports neither SQL, the CLI, the platform nor Node",
    (_, file) => {
      const source = readFileSync(file, "utf8")
      expect(specifiers(source).filter(forbidden)).toEqual([])
      expect(source).not.toMatch(/\bprocess\.|\bBuffer\b|\brequire\(/)
    }
  )

  it("detects a forbidden import", () => {
    expect(specifiers(`import { SqlClient } from "@effect/sql"\nimport * as fs from "node:fs"`).filter(forbidden))
      .toEqual(["@effect/sql", "node:fs"])
  })
})
