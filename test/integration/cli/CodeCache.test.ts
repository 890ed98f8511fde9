/**
 * The program starts from V8's code caches (bin/ai-provider-seed.cjs): a cache that V8 rejects costs every
 * start the whole compilation, silently. V8 rejects one made under other flags, and the launcher changes a
 * flag once the program is loaded (the young generation's growth): the build must still write the cache
 * under the flags a start compiles with.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as Path from "node:path"
import { root } from "../../support/Program.js"

/** Compiles a shipped bundle the way a start does, in a process of its own: whether V8 rejected the cache. */
const cacheRejected = (name: string) =>
  Effect.async<string>((resume) => {
    const launcher = Path.join(root, "bin/ai-provider-seed.cjs")
    const bundle = Path.join(root, "dist/program", name)
    const probe = `process.stdout.write(String(require(${JSON.stringify(launcher)}).compile(${
      JSON.stringify(bundle)
    }, ${JSON.stringify(`${bundle}.cache`)}).cachedDataRejected))`
    const child = execFile(
      process.execPath,
      ["-e", probe],
      { timeout: 30_000 },
      (error, stdout, stderr) => resume(Effect.succeed(error === null ? stdout : `failed: ${error.message} ${stderr}`))
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("the program's code caches", () => {
  it.effect("are accepted when a start compiles each bundle (the bare seed's and the whole program's)", () =>
    Effect.gen(function*() {
      expect(yield* cacheRejected("bare-seed.cjs")).toBe("false")
      expect(yield* cacheRejected("ai-provider-seed.cjs")).toBe("false")
    }))
})
