import { SqlClient, Statement } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Redacted, Ref } from "effect"
import { BedrockSettings, StoredProvider, UnreadableProvider } from "../../../src/core/Provider.js"
import { Encryption } from "../../../src/crypto/Encryption.js"
import { migrate } from "../../../src/db/Migrations.js"
import { ProviderStore } from "../../../src/db/ProviderStore.js"
import * as Rows from "../../support/Rows.js"
import * as TestDatabase from "../../support/TestDatabase.js"

/** Plaintext on purpose: these tests read the stored row format (encryption has its own tests). */
const Store = ProviderStore.Default.pipe(Layer.provide(Encryption.plaintext), Layer.provideMerge(TestDatabase.layer()))

const reset = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* migrate()
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

const readable = (rows: ReadonlyArray<StoredProvider | UnreadableProvider>) =>
  rows.filter((row): row is StoredProvider => row instanceof StoredProvider)

layer(Store, { excludeTestServices: true })("ProviderStore", (it) => {
  it.effect("sends the same number of statements for 1 and for 500 providers", () =>
    Effect.gen(function*() {
      const store = yield* ProviderStore
      const roundTrip = (size: number) =>
        Effect.gen(function*() {
          yield* reset
          const providers = Array.from({ length: size }, (_, i) => Rows.provider(`provider-${i}`))
          const [loaded, statements] = yield* countingStatements(Effect.gen(function*() {
            yield* store.insert({
              providers,
              keys: providers.map((row) => Rows.key(row.id, `sk-${row.provider.name}-secret`)),
              audit: providers.map(Rows.audit)
            })
            return yield* store.load
          }))
          expect(loaded).toHaveLength(size)
          expect(readable(loaded).flatMap((row) => row.keys)).toHaveLength(size)
          return statements
        })
      const one = yield* roundTrip(1)
      const many = yield* roundTrip(500)
      expect(one).toBe(2)
      expect(many).toBe(one)
    }))

  it.effect("loads soft-deleted and disabled providers with their keys, decodes settings and keeps secrets redacted", () =>
    Effect.gen(function*() {
      yield* reset
      const store = yield* ProviderStore
      const sql = yield* SqlClient.SqlClient
      const settings = new BedrockSettings({
        access_key: Redacted.make("AKIA"),
        access_key_secret: Redacted.make("s3cr3t"),
        region: "us-east-1",
        model: "",
        small_fast_model: "",
        base_url: ""
      })
      const bedrock = Rows.provider("bedrock", { type: "anthropic", bedrock: settings })
      const disabled = Rows.provider("disabled", {}, { enabled: false })
      const deleted = Rows.provider("deleted")
      yield* store.insert({
        providers: [bedrock, disabled, deleted],
        keys: [Rows.key(disabled.id, "first-key-0001"), Rows.key(disabled.id, "second-key-02")],
        audit: []
      })
      yield* sql`update ai_providers set deleted = true, enabled = false where id = ${deleted.id}`
      const [raw] = yield* sql<
        { settings: unknown }
      >`select settings::jsonb as settings from ai_providers where name = 'bedrock'`
      expect(raw?.settings).toEqual({
        _type: "bedrock",
        _version: 1,
        region: "us-east-1",
        access_key: "AKIA",
        access_key_secret: "s3cr3t"
      })

      const loaded = readable(yield* store.load)
      expect(loaded.map((row) => [row.name, row.enabled, row.deleted])).toEqual([
        ["bedrock", true, false],
        ["deleted", false, true],
        ["disabled", false, false]
      ])
      expect(loaded[0]?.bedrock?.region).toBe("us-east-1")
      expect(Redacted.value(loaded[0]!.bedrock!.access_key_secret)).toBe("s3cr3t")
      expect(loaded[2]?.keys.map(Redacted.value).sort()).toEqual(["first-key-0001", "second-key-02"])
      expect(JSON.stringify(loaded)).not.toContain("first-key")
      expect(JSON.stringify(loaded)).not.toContain("s3cr3t")
    }))

  it.effect("a row this program cannot read loads as unreadable, naming what and never a value", () =>
    Effect.gen(function*() {
      yield* reset
      const store = yield* ProviderStore
      const sql = yield* SqlClient.SqlClient
      yield* store.insert(Rows.providersOnly([Rows.provider("broken"), Rows.provider("fine")]))
      yield* sql`update ai_providers set settings = '{"_type":"vertex","access_key_secret":"hunter2"}'::jsonb
        where name = 'broken'`
      const [broken, fine] = yield* store.load
      expect(broken).toBeInstanceOf(UnreadableProvider)
      expect(fine).toBeInstanceOf(StoredProvider)
      const reason = (broken as UnreadableProvider).reason
      expect(reason).toContain("_type \"vertex\"")
      expect(reason).not.toContain("hunter2")
    }))

  it.effect("a name that breaks the CHECK is a typed error naming the provider and the rule", () =>
    Effect.gen(function*() {
      yield* reset
      const store = yield* ProviderStore
      const error = yield* Effect.flip(
        store.insert(Rows.providersOnly([Rows.provider("good"), Rows.provider("Bad_Name")]))
      )
      expect(error._tag).toBe("ConstraintViolation")
      expect(error.message).toContain(`"Bad_Name"`)
      expect(error.message).toContain("^[a-z0-9]+(-[a-z0-9]+)*$")
    }))

  it.effect("a duplicate name is a typed error naming the provider and the rule", () =>
    Effect.gen(function*() {
      yield* reset
      const store = yield* ProviderStore
      yield* store.insert(Rows.providersOnly([Rows.provider("openai")]))
      const error = yield* Effect.flip(
        store.insert(Rows.providersOnly([Rows.provider("anthropic"), Rows.provider("openai")]))
      )
      expect(error._tag).toBe("ConstraintViolation")
      expect(error.message).toContain(`"openai"`)
      expect(error.message).toContain("unique")
    }))
})
