/** Which database the configuration selects (issue 11.4 and 11.5): an empty value counts as unset. */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"
import { defaultEmbeddedDataDir, selectionFromConfig } from "../../../src/db/Database.js"

const select = (env: Record<string, string>) =>
  selectionFromConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))

describe("selectionFromConfig", () => {
  it.effect("nothing set: the embedded default, in the default directory", () =>
    Effect.gen(function*() {
      expect(yield* select({})).toEqual({ _tag: "Embedded", dataDir: defaultEmbeddedDataDir, configured: false })
    }))

  it.effect("an empty (or blank) DATABASE_URL is unset: the embedded default, not libpq's defaults", () =>
    Effect.gen(function*() {
      for (const url of ["", "  "]) {
        expect(yield* select({ DATABASE_URL: url, PGDATABASE: "other" })).toEqual({
          _tag: "Embedded",
          dataDir: defaultEmbeddedDataDir,
          configured: false
        })
      }
    }))

  it.effect("an empty AI_PROVIDER_SEED_DATA_DIR is unset: the default directory, never the working directory", () =>
    Effect.gen(function*() {
      expect(yield* select({ AI_PROVIDER_SEED_DATA_DIR: "" })).toEqual({
        _tag: "Embedded",
        dataDir: defaultEmbeddedDataDir,
        configured: false
      })
      expect(yield* select({ AI_PROVIDER_SEED_DATA_DIR: "/srv/seed" })).toEqual({
        _tag: "Embedded",
        dataDir: "/srv/seed",
        configured: true
      })
    }))

  it.effect("a DATABASE_URL wins over the data directory", () =>
    Effect.gen(function*() {
      const selection = yield* select({ DATABASE_URL: "postgres://db/x", AI_PROVIDER_SEED_DATA_DIR: "/srv/seed" })
      expect(selection._tag).toBe("Url")
      if (selection._tag === "Url") expect(Redacted.value(selection.url)).toBe("postgres://db/x")
    }))
})
