import { SqlClient, Statement } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Redacted, Ref } from "effect"
import { migrate } from "../../../src/db/Migrations.js"
import { ProviderStore } from "../../../src/db/ProviderStore.js"
import * as Rows from "../../support/Rows.js"
import * as TestDatabase from "../../support/TestDatabase.js"

const Store = ProviderStore.layer.pipe(Layer.provideMerge(TestDatabase.layer()))

const reset = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* migrate
  yield* sql`truncate ai_providers, ai_provider_keys, audit_logs`
})

/** Counts the statements the store sends, through @effect/sql's statement transformer hook. */
const countingStatements = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const count = yield* Ref.make(0)
    const result = yield* effect.pipe(
      Statement.withTransformer((statement) => Effect.as(Ref.update(count, (n) => n + 1), statement))
    )
    return [result, yield* Ref.get(count)] as const
  })

layer(Store, { excludeTestServices: true })("ProviderStore", (it) => {
  it.effect("sends the same number of statements for 1 and for 500 providers", () =>
    Effect.gen(function*() {
      const store = yield* ProviderStore
      const roundTrip = (size: number) =>
        Effect.gen(function*() {
          yield* reset
          const providers = Array.from({ length: size }, (_, i) => Rows.provider(`provider-${i}`))
          const [stored, statements] = yield* countingStatements(Effect.gen(function*() {
            yield* store.insertProviders(providers)
            yield* store.insertKeys(providers.map((row) => Rows.key(row.id, `sk-${row.name}-secret`)))
            yield* store.insertAuditRows(providers.map(Rows.audit))
            const loaded = yield* store.loadProviders
            const keys = yield* store.loadKeys(loaded.map((row) => row.id))
            return { loaded, keys }
          }))
          expect(stored.loaded).toHaveLength(size)
          expect(stored.keys).toHaveLength(size)
          return statements
        })
      const one = yield* roundTrip(1)
      const many = yield* roundTrip(500)
      expect(one).toBe(5)
      expect(many).toBe(one)
    }))

  it.effect("loads soft-deleted and disabled providers, decodes settings and keeps keys redacted", () =>
    Effect.gen(function*() {
      yield* reset
      const store = yield* ProviderStore
      const sql = yield* SqlClient.SqlClient
      const bedrock = Rows.provider("bedrock", {
        type: "anthropic",
        settings: {
          _type: "bedrock",
          _version: 1,
          region: "us-east-1",
          access_key: "AKIA",
          access_key_secret: "s3cr3t"
        }
      })
      const disabled = Rows.provider("disabled", { enabled: false })
      const deleted = Rows.provider("deleted")
      yield* store.insertProviders([bedrock, disabled, deleted])
      yield* sql`update ai_providers set deleted = true, enabled = false where id = ${deleted.id}`
      yield* store.insertKeys([Rows.key(disabled.id, "first-key-0001"), Rows.key(disabled.id, "second-key-02")])

      const loaded = yield* store.loadProviders
      expect(loaded.map((row) => [row.name, row.enabled, row.deleted])).toEqual([
        ["bedrock", true, false],
        ["deleted", false, true],
        ["disabled", false, false]
      ])
      expect(loaded[0]?.settings).toEqual(bedrock.settings)
      expect(loaded[0]?.created_at).toBeInstanceOf(Date)
      const keys = yield* store.loadKeys([disabled.id])
      expect(keys.map((row) => Redacted.value(row.api_key)).sort()).toEqual(["first-key-0001", "second-key-02"])
      expect(String(keys[0]?.api_key)).not.toContain("first-key")
    }))

  it.effect("a stored settings blob that does not decode is a typed error naming the provider", () =>
    Effect.gen(function*() {
      yield* reset
      const store = yield* ProviderStore
      const sql = yield* SqlClient.SqlClient
      yield* store.insertProviders([Rows.provider("broken")])
      yield* sql`update ai_providers set settings = '{"_type":"vertex","access_key_secret":"hunter2"}'::jsonb`
      const error = yield* Effect.flip(store.loadProviders)
      expect(error._tag).toBe("InvalidStoredSettings")
      expect(error.message).toContain(`"broken"`)
      expect(error.message).toContain("settings")
      expect(error.message).not.toContain("hunter2")
    }))

  it.effect("a name that breaks the CHECK is a typed error naming the provider and the rule", () =>
    Effect.gen(function*() {
      yield* reset
      const store = yield* ProviderStore
      const error = yield* Effect.flip(store.insertProviders([Rows.provider("good"), Rows.provider("Bad_Name")]))
      expect(error._tag).toBe("ConstraintViolation")
      expect(error.message).toContain(`"Bad_Name"`)
      expect(error.message).toContain("^[a-z0-9]+(-[a-z0-9]+)*$")
    }))

  it.effect("a duplicate name is a typed error naming the provider and the rule", () =>
    Effect.gen(function*() {
      yield* reset
      const store = yield* ProviderStore
      yield* store.insertProviders([Rows.provider("openai")])
      const error = yield* Effect.flip(store.insertProviders([Rows.provider("anthropic"), Rows.provider("openai")]))
      expect(error._tag).toBe("ConstraintViolation")
      expect(error.message).toContain(`"openai"`)
      expect(error.message).toContain("unique")
    }))
})
