import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { hash } from "../../../src/core/Canonical.js"
import { providerNamePattern } from "../../../src/core/ProviderName.js"
import { deriveFrom } from "../../../src/env/DesiredProviders.js"
import { variablesOf } from "../../../src/env/ProviderVariables.js"
import { runCli } from "../../support/runCli.js"
import { environment, secretsOf } from "./RandomEnvironments.js"

const variables = (env: Readonly<Record<string, string>>) => variablesOf(Object.entries(env))

const rotateKeys = (env: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).map(([name, value]) =>
      /_(KEY|KEYS)$/.test(name) && !name.includes("BEDROCK")
        ? [name, value.split(",").map((item) => item.trim() === "" ? item : `${item.trim()}-rotated`).join(",")]
        : [name, value]
    )
  )

const options = { fastCheck: { numRuns: 300 } }

describe("random environments", () => {
  it.effect.prop(
    "config either fails with a typed error or prints valid, sorted, unique names; never a secret",
    [environment],
    ([env]) =>
      Effect.gen(function*() {
        const outcome = yield* runCli(["config", "--format", "json"], env)
        expect([0, 2, 4]).toContain(outcome.code)
        if (outcome.code === 0) {
          const names: Array<string> = JSON.parse(outcome.stdout).providers.map((p: { name: string }) => p.name)
          for (const name of names) expect(name).toMatch(providerNamePattern)
          expect(names).toEqual([...new Set(names)].sort())
        } else {
          expect(outcome.stdout).toBe("")
          expect(outcome.stderr).toContain("Fix:")
        }
        for (const secret of secretsOf(env)) expect(outcome.all).not.toContain(secret)
      }),
    options
  )

  it.effect.prop(
    "text output never shows a secret either",
    [environment],
    ([env]) =>
      Effect.gen(function*() {
        const outcome = yield* runCli(["config"], env)
        for (const secret of secretsOf(env)) expect(outcome.all).not.toContain(secret)
      }),
    options
  )

  it.effect.prop(
    "derivation fails only with InvalidConfiguration or IndexedNameCollision, whose messages hold no secret",
    [environment],
    ([env]) =>
      Effect.gen(function*() {
        const result = yield* Effect.either(deriveFrom(variables(env)))
        if (result._tag === "Left") {
          expect(["InvalidConfiguration", "IndexedNameCollision"]).toContain(result.left._tag)
          for (const secret of secretsOf(env)) expect(result.left.message).not.toContain(secret)
        }
      }),
    options
  )

  it.effect.prop(
    "rotating bearer keys never changes an outcome or a canonical hash",
    [environment],
    ([env]) =>
      Effect.gen(function*() {
        const before = yield* Effect.either(deriveFrom(variables(env)))
        const after = yield* Effect.either(deriveFrom(variables(rotateKeys(env))))
        expect(after._tag).toBe(before._tag)
        if (before._tag === "Right" && after._tag === "Right") {
          expect(after.right.providers.map((p) => p.name)).toEqual(before.right.providers.map((p) => p.name))
          expect(after.right.providers.map(hash)).toEqual(before.right.providers.map(hash))
        }
      }),
    options
  )
})
