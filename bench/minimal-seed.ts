/**
 * The floor for a no-op seed written with Effect and @effect/sql-pg: exactly BEGIN, one statement that
 * bounds the lock wait, takes the seed lock and reads the schema version, one statement that loads the
 * providers with their keys, and COMMIT; then a one-line report. No CLI, no Config walk, no
 * migrations, no decisions. Bundled like the program (scripts/build.ts) by bench/startup.ts, and
 * compared with the plain script: what is left between the two is the cost of Effect's runtime and
 * the SQL stack, which no reduction of round trips inside the seed can remove.
 *
 *   DATABASE_URL=postgres://... node minimal-seed.cjs
 */
import "../scripts/build-pg-probe.js"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Config, Console, Effect } from "effect"
import { LockIDAIProvidersEnvSeed } from "../src/core/LockIds.js"
import { migrationsTable } from "../src/db/Migrations.js"

const noopSeed = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const providers = yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`select set_config('lock_timeout', '35000ms', true),
      pg_advisory_xact_lock(${String(LockIDAIProvidersEnvSeed)}::bigint),
      (select max(migration_id) from ${sql(migrationsTable)}) as schema_version`
    return yield* sql`
      select p.id, p.type, p.name, p.display_name, p.enabled, p.deleted, p.base_url, p.settings,
        coalesce(json_agg(k.api_key order by k.created_at, k.id) filter (where k.id is not null), '[]') as keys
      from ai_providers p left join ai_provider_keys k on k.provider_id = p.id
      group by p.id order by p.name`
  }))
  yield* Console.log(`${providers.length} providers unchanged`)
})

const pool = PgClient.layerConfig({
  url: Config.redacted("DATABASE_URL"),
  applicationName: Config.succeed("ai-provider-seed-minimal"),
  maxConnections: Config.succeed(2)
})

NodeRuntime.runMain(Effect.provide(noopSeed, pool), { disablePrettyLogger: true })
