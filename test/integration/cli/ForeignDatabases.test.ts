/**
 * Databases the seed did not create (issue 10, items 10 to 12): rows this program cannot read, a role
 * that may not change the schema, a migration that meets another program's objects, a read-only
 * database. Each ends with a precise error and the right exit code, or is left alone when it is none of
 * the seed's business.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { pool } from "../../../src/db/Database.js"
import { scratchDatabase } from "../../../support/ScratchDatabase.js"
import { runCli } from "../../support/runCli.js"
import { resetDatabase } from "../../support/Seeding.js"
import * as TestDatabase from "../../support/TestDatabase.js"

const env = { CODER_AIBRIDGE_OPENAI_KEY: "sk-foreign-canary-0000111122223333" }

const cli = (args: ReadonlyArray<string>, extra: Record<string, string> = {}, url?: string) =>
  Effect.flatMap(
    TestDatabase.TestDatabase,
    (database) => runCli(args, { ...env, ...extra, DATABASE_URL: url ?? Redacted.value(database.url) })
  )

/** A fresh database with a login role that may read and write the seed's tables but not change the schema. */
const leastPrivilege = (migrated: boolean) =>
  Effect.gen(function*() {
    const database = yield* scratchDatabase(TestDatabase.adminUrl(), "seed_roles")
    const owner = Context.get(yield* Layer.build(pool(database.url, { maxConnections: 2 })), SqlClient.SqlClient)
    if (migrated) yield* runCli(["migrate"], { DATABASE_URL: Redacted.value(database.url) })
    const role = `seed_dml_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
    const password = "dml-role-password-0001"
    yield* Effect.acquireRelease(
      owner.unsafe(`create role ${role} login password '${password}'`),
      () =>
        owner.unsafe(`drop owned by ${role}`).pipe(
          Effect.zipRight(owner.unsafe(`drop role if exists ${role}`)),
          Effect.orDie
        )
    )
    // PostgreSQL 15 and later give PUBLIC no CREATE on the public schema; say it for older servers too.
    yield* owner.unsafe(`revoke create on schema public from public`)
    yield* owner.unsafe(`grant usage on schema public to ${role}`)
    if (migrated) {
      yield* owner.unsafe(`grant select, insert, update, delete on all tables in schema public to ${role}`)
    }
    const url = new URL(Redacted.value(database.url))
    url.username = role
    url.password = password
    return url.toString()
  })

layer(TestDatabase.layer(), { excludeTestServices: true })("databases the seed did not create", (it) => {
  it.effect("rows this program cannot read are reported and left alone, unless the environment configures them (10.10)", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const sql = yield* SqlClient.SqlClient
      yield* sql`alter type ai_provider_type add value if not exists 'copilot'`
      yield* sql`insert into ai_providers (id, type, name, display_name, base_url, created_at, updated_at)
        values (gen_random_uuid(), 'copilot', 'copilot', 'copilot', '', now(), now())`
      yield* sql`insert into ai_providers (id, type, name, display_name, base_url, settings, created_at, updated_at)
        values (gen_random_uuid(), 'anthropic', 'next-version', 'next-version', '',
          '{"_type":"bedrock","_version":2,"access_key_secret":"foreign-secret-0000"}', now(), now())`

      const seeded = yield* cli(["seed", "--format", "json"])
      expect(seeded.code, seeded.all).toBe(0)
      expect(JSON.parse(seeded.stdout).providers.map((p: { name: string }) => p.name)).toEqual(["openai"])

      const listed = yield* cli(["providers", "list", "--format", "json"])
      expect(listed.code, listed.all).toBe(0)
      const rows = JSON.parse(listed.stdout).providers as Array<{ name: string; state: string; reason?: string }>
      expect(rows.map((row) => [row.name, row.state])).toEqual([
        ["copilot", "unreadable"],
        ["next-version", "unreadable"],
        ["openai", "enabled"]
      ])
      expect(rows[0]?.reason).toContain(`type "copilot" is unknown`)
      expect(rows[1]?.reason).toContain("_version 2")
      expect(rows[1]?.reason).not.toContain("settings (settings)")

      // Configured by the environment: now it is the seed's business, and the error says exactly why.
      const configured = yield* cli(["seed", "--format", "json"], {
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "anthropic",
        CODER_AIBRIDGE_PROVIDER_0_NAME: "next-version",
        CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-ant-foreign-0000111122223333"
      })
      expect(configured.code).toBe(6)
      const error = JSON.parse(configured.stdout).error
      expect(error._tag).toBe("UnreadableStoredProvider")
      expect(error.message).toContain(`"next-version"`)
      expect(error.message).toContain("_version 2")
      expect(configured.all).not.toContain("foreign-secret-0000")
    }))

  it.scoped(
    "a role without CREATE seeds a current schema without DDL, and is told to run `migrate` as the owner otherwise (10.11)",
    () =>
      Effect.gen(function*() {
        const current = yield* leastPrivilege(true)
        const seeded = yield* cli(["seed", "--format", "json"], {}, current)
        expect(seeded.code, seeded.all).toBe(0)
        const listed = yield* cli(["providers", "list"], {}, current)
        expect(listed.code, listed.all).toBe(0)

        const behind = yield* leastPrivilege(false)
        const refused = yield* cli(["seed", "--format", "json"], {}, behind)
        expect(refused.code, refused.all).toBe(6)
        const error = JSON.parse(refused.stdout).error
        expect(error.sqlState).toBe("42501")
        expect(error.step).toContain("migrate")
        expect(error.message).toContain("`ai-provider-seed migrate`")
        expect(refused.all).not.toContain("dml-role-password-0001")
      }),
    { timeout: 90_000 }
  )

  it.effect("a migration that meets another program's objects is exit 6 naming the migration and the reason, with the JSON report (10.12)", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`drop table if exists ai_provider_keys, ai_providers, audit_logs, dbcrypt_keys, ai_provider_seed_migrations`
      yield* sql`drop type if exists ai_provider_type`
      // The server's own migrations made the enum first.
      yield* sql`create type ai_provider_type as enum ('openai', 'anthropic')`
      const outcome = yield* cli(["seed", "--format", "json"])
      expect(outcome.code, outcome.all).toBe(6)
      const report = JSON.parse(outcome.stdout)
      expect(report.outcome).toBe("failed")
      expect(report.error).toMatchObject({ _tag: "DatabaseError", sqlState: "42710" })
      expect(report.error.step).toBe("migrate (migration 1_create_ai_providers)")
      expect(report.error.reason).toContain(`type "ai_provider_type" already exists`)
      expect(outcome.stderr).not.toContain("Unexpected error")
      expect(outcome.stderr).not.toMatch(/\n\s+at /)
      yield* sql`drop type ai_provider_type`
    }))

  it.scoped("a read-only database is exit 6 with a fix that names the primary", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const sql = yield* SqlClient.SqlClient
      const { name } = yield* TestDatabase.TestDatabase
      yield* Effect.acquireRelease(
        sql.unsafe(`alter database ${name} set default_transaction_read_only = on`),
        () => sql.unsafe(`alter database ${name} reset default_transaction_read_only`).pipe(Effect.orDie)
      )
      const outcome = yield* cli(["seed", "--format", "json"])
      expect(outcome.code, outcome.all).toBe(6)
      const error = JSON.parse(outcome.stdout).error
      expect(error.sqlState).toBe("25006")
      expect(error.message).toContain("read-only")
      expect(error.message).toContain("primary")
    }))
})
