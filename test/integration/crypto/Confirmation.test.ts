/**
 * `keys rotate` (and its siblings) ask before changing anything: the real program as a child process,
 * without a terminal (stdin at /dev/null: it prints the plan and refuses, exit 2) and on a real
 * pseudo-terminal from `script` (util-linux), answering no, then yes.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { spawn } from "node:child_process"
import * as Path from "node:path"
import { baseEnvironment, root, runProgram } from "../../support/Program.js"
import * as TestDatabase from "../../support/TestDatabase.js"
import {
  cli,
  digestOf,
  keyRegistry,
  newKey,
  providersEnv,
  rawState,
  secretsOf,
  storedValues,
  withKeys
} from "./Keys.js"

const run = "confirm"
const secrets = secretsOf(run)

/**
 * Runs the program on a pseudo-terminal and types `answer` once the question is on the screen; the
 * whole exchange is bounded (the child is killed after `limit`).
 */
const onTerminal = (args: ReadonlyArray<string>, env: Record<string, string>, answer: string, limit = 90_000) =>
  Effect.async<{ code: number | null; screen: string }>((resume) => {
    const command = [process.execPath, "--import", "tsx", Path.join(root, "src/bin.ts"), ...args]
      .map((part) => `'${part}'`).join(" ")
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      cwd: root,
      env: { ...baseEnvironment(), ...env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let screen = ""
    let answered = false
    const timer = setTimeout(() => child.kill("SIGKILL"), limit)
    const read = (chunk: Buffer) => {
      screen += chunk.toString("utf8")
      if (!answered && screen.includes("[y/N]")) {
        answered = true
        child.stdin.write(`${answer}\r`)
      }
    }
    child.stdout.on("data", read)
    child.stderr.on("data", read)
    child.once("error", (error) => resume(Effect.die(error)))
    child.once("close", (code) => {
      clearTimeout(timer)
      child.stdin.destroy()
      resume(Effect.succeed({ code, screen }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

layer(TestDatabase.layer(), { excludeTestServices: true })("keys commands ask before they change", (it) => {
  it.effect(
    "no terminal and no --yes: the plan on stdout, refused (exit 2), nothing written; a terminal: no, then yes",
    () =>
      Effect.gen(function*() {
        const { url } = yield* TestDatabase.TestDatabase
        const [a, b] = [newKey(), newKey()]
        const seeded = yield* cli(["seed"], { ...providersEnv(run), ...withKeys(a) }, secrets)
        expect(seeded.code, seeded.stderr).toBe(0)
        const env = { DATABASE_URL: Redacted.value(url), ...withKeys(b, a) }
        const before = yield* rawState

        const refused = yield* Effect.promise(() => runProgram(["keys", "rotate", "--format", "json"], env))
        expect(refused.code, refused.stderr).toBe(2)
        expect(JSON.parse(refused.stdout)).toMatchObject({
          operation: "rotate",
          applied: false,
          request_id: null,
          target: digestOf(b),
          values: [
            { column: "ai_providers.settings", key: digestOf(a), count: 1 },
            { column: "ai_provider_keys.api_key", key: digestOf(a), count: 3 }
          ],
          revoked: [digestOf(a)]
        })
        expect(refused.stderr).toContain("there is no terminal to ask on")
        expect(refused.stderr).toContain("keys rotate --yes")
        expect(yield* rawState).toEqual(before)

        const declined = yield* onTerminal(["keys", "rotate"], env, "n")
        expect(declined.code, declined.screen).toBe(2)
        expect(declined.screen).toContain(`Values to be re-encrypted with key ${digestOf(b)}:`)
        expect(declined.screen).toContain("the operator did not confirm it")
        expect(yield* rawState).toEqual(before)

        const confirmed = yield* onTerminal(["keys", "rotate"], env, "y")
        expect(confirmed.code, confirmed.screen).toBe(0)
        expect(confirmed.screen).toContain("keys rotate: done")
        expect((yield* storedValues).every((row) => row.key_id === digestOf(b))).toBe(true)
        expect((yield* keyRegistry).map((row) => row.revoked)).toEqual([true, false])
        for (const text of [refused.stdout, refused.stderr, declined.screen, confirmed.screen]) {
          for (const secret of [...secrets, a, b]) expect(text).not.toContain(secret)
        }
      }),
    { timeout: 240_000 }
  )
})
