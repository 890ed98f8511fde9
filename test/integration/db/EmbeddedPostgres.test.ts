import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import type { Redacted } from "effect"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { existsSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { pool } from "../../../src/db/Database.js"
import {
  type DataDirectoryUnusable,
  EmbeddedPostgres,
  EmbeddedPostgresError
} from "../../../src/db/EmbeddedPostgres.js"
import { scopedTempDir } from "../../support/EmbeddedServers.js"
import { isRunning } from "../../support/Processes.js"

const serverIn = (
  scope: Scope.Scope,
  layer: Layer.Layer<EmbeddedPostgres, EmbeddedPostgresError | DataDirectoryUnusable>
) => Layer.buildWithScope(layer, scope).pipe(Effect.map(Context.get(EmbeddedPostgres)))

const selectOne = (url: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const sql = yield* PgClient.PgClient
    const rows = yield* sql<{ port: string }>`select current_setting('port') as port`
    return Number(rows[0]?.port)
  }).pipe(Effect.provide(pool(url)), Effect.scoped)

describe("EmbeddedPostgres", () => {
  it.live("two layers in one process get two servers, and closing a scope stops its server", () =>
    Effect.gen(function*() {
      const first = yield* Scope.make()
      const second = yield* Scope.make()
      const a = yield* serverIn(first, EmbeddedPostgres.layer({ mode: "ephemeral" }))
      const b = yield* serverIn(second, EmbeddedPostgres.layer({ mode: "ephemeral" }))
      expect(a.port).not.toBe(b.port)
      expect(a.pid).not.toBe(b.pid)
      expect(yield* selectOne(a.url)).toBe(a.port)
      expect(yield* selectOne(b.url)).toBe(b.port)

      yield* Scope.close(first, Exit.void)
      expect(isRunning(a.pid)).toBe(false)
      expect(existsSync(a.dataDir)).toBe(false)
      expect(isRunning(b.pid)).toBe(true)
      yield* Scope.close(second, Exit.void)
      expect(isRunning(b.pid)).toBe(false)
    }))

  it.live("a persistent data directory is initialized once and reused", () =>
    Effect.gen(function*() {
      const parent = yield* scopedTempDir("seed-persistent-")
      const dataDir = Path.join(parent, "pg")
      const layer = EmbeddedPostgres.layer({ mode: "persistent", dataDir })
      const marker = Effect.gen(function*() {
        const server = yield* EmbeddedPostgres
        return yield* Effect.gen(function*() {
          const sql = yield* PgClient.PgClient
          yield* sql`create table if not exists marker (n int)`
          yield* sql`insert into marker values (1)`
          const rows = yield* sql<{ count: string }>`select count(*) as count from marker`
          return Number(rows[0]?.count)
        }).pipe(Effect.provide(pool(server.url)))
      }).pipe(Effect.provide(layer), Effect.scoped)
      expect(yield* marker).toBe(1)
      expect(yield* marker).toBe(2)
      expect(existsSync(Path.join(dataDir, "PG_VERSION"))).toBe(true)
    }).pipe(Effect.scoped))

  it.live("a failure to start is a typed error carrying PostgreSQL's own reason", () =>
    Effect.gen(function*() {
      const parent = yield* scopedTempDir("seed-broken-")
      const dataDir = Path.join(parent, "pg")
      const layer = EmbeddedPostgres.layer({ mode: "persistent", dataDir })
      // Initialize, then break the configuration the server reads at start.
      yield* EmbeddedPostgres.pipe(Effect.provide(layer), Effect.scoped)
      yield* Effect.promise(() => Fs.appendFile(Path.join(dataDir, "postgresql.conf"), "\nshared_buffers = 'lots'\n"))
      const error = yield* EmbeddedPostgres.pipe(Effect.provide(layer), Effect.scoped, Effect.flip)
      if (!(error instanceof EmbeddedPostgresError)) throw error
      expect(error.step).toBe("start")
      expect(error.reason).toContain("shared_buffers")
      expect(error.message).toContain(dataDir)
    }).pipe(Effect.scoped))
})
