import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { join } from "node:path"

const srcDir = join(import.meta.dirname, "../../../src")

const files = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  )

const specifiers = (source: string): Array<string> =>
  Array.from(source.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g), (match) => match[1] ?? "")

const isNode = (specifier: string) => specifier.startsWith("node:") || builtinModules.includes(specifier)
const room = (name: string) => (specifier: string) => specifier.startsWith(`../${name}/`)

/**
 * Data flows one way: env (environment -> desired set) and core (model, canonical form, decisions) are
 * pure and know nothing of SQL, the command line, Node, or the rooms that use them.
 */
const rules = {
  core: (specifier: string) =>
    isNode(specifier) || /^@effect\/(sql|cli|platform)/.test(specifier) ||
    ["env", "db", "audit", "seed", "admin", "cli"].some((name) => room(name)(specifier)),
  env: (specifier: string) =>
    isNode(specifier) || /^@effect\/(sql|cli)/.test(specifier) ||
    ["db", "audit", "seed", "admin", "cli"].some((name) => room(name)(specifier))
}

describe("layering", () => {
  for (const [name, forbidden] of Object.entries(rules)) {
    const dir = join(srcDir, name)

    it(`finds the ${name} modules`, () => {
      expect(files(dir).length).toBeGreaterThan(5)
    })

    it.each(files(dir).map((file) => [file.slice(dir.length + 1), file]))(
      `${name}/%s imports neither SQL, the CLI, Node nor a room downstream`,
      (_, file) => {
        const source = readFileSync(file, "utf8")
        expect(specifiers(source).filter(forbidden)).toEqual([])
        expect(source).not.toMatch(/\bprocess\.|\bBuffer\b|\brequire\(/)
      }
    )
  }

  it("detects a forbidden import", () => {
    const source =
      `import { SqlClient } from "@effect/sql"\nimport * as fs from "node:fs"\nimport { x } from "../env/X.js"`
    expect(specifiers(source).filter(rules.core)).toEqual(["@effect/sql", "node:fs", "../env/X.js"])
  })
})
