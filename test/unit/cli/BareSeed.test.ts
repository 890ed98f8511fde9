/**
 * A bare `seed` runs without the command line (Program.ts): it must be the same run the command line
 * would start. The options it uses are what @effect/cli parses for `seed` without arguments; a usage
 * error is recognized without loading @effect/cli; and only the exact bare command line skips it.
 */
import { Command, HelpDoc, ValidationError } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Ref } from "effect"
import { seedOptions } from "../../../src/cli/SeedCommand.js"
import { bareSeedOptions } from "../../../src/cli/SeedRun.js"
import { isUsageError } from "../../../src/cli/UsageError.js"
import { InvalidConfiguration } from "../../../src/core/Errors.js"
import { runCli } from "../../support/runCli.js"

describe("a bare seed", () => {
  it.effect("runs with what the command line parses for `seed` without arguments", () =>
    Effect.gen(function*() {
      const parsed = yield* Ref.make<unknown>(undefined)
      const seed = Command.make("seed", seedOptions, (options) => Ref.set(parsed, options))
      yield* Command.run(seed, { name: "seed", version: "0" })(["node", "seed"]).pipe(
        Effect.provide(NodeContext.layer),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      expect(yield* Ref.get(parsed)).toEqual(bareSeedOptions)
    }))

  it("recognizes usage errors as @effect/cli does", () => {
    const samples: ReadonlyArray<unknown> = [
      ValidationError.invalidValue(HelpDoc.p("bad")),
      ValidationError.missingValue(HelpDoc.p("missing")),
      ValidationError.commandMismatch(HelpDoc.p("no such command")),
      new InvalidConfiguration({ variables: ["X"], rule: "r", fix: "f" }),
      { _tag: "InvalidValue" },
      null,
      "text"
    ]
    expect(samples.map(isUsageError)).toEqual(samples.map(ValidationError.isValidationError))
    expect(samples.filter(isUsageError)).toHaveLength(3)
  })

  // With the variable set, the command line reads and checks it: a bad value is its usage error (exit 2),
  // not ignored by a run that skipped the command line.
  it.effect("leaves AI_PROVIDER_SEED_ON_CONFLICT to the command line", () =>
    Effect.gen(function*() {
      const outcome = yield* runCli(["seed"], { AI_PROVIDER_SEED_ON_CONFLICT: "sometimes" })
      expect(outcome.code, outcome.all).toBe(2)
      expect(outcome.all).toContain("AI_PROVIDER_SEED_ON_CONFLICT")
    }))
})
