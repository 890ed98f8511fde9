/**
 * A fresh database owned by a fresh login role with a given password, on the run's server, both dropped
 * when the scope closes: a URL with a real password, which works whether the server trusts local
 * connections or checks passwords.
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Redacted } from "effect"
import { pool } from "../../src/db/Database.js"
import { scratchDatabase } from "../../support/ScratchDatabase.js"
import { adminUrl } from "./TestDatabase.js"

export interface RoleDatabase {
  readonly role: string
  readonly database: string
  /** The server's host and port, as the admin URL names them. */
  readonly host: string
  readonly port: number
}

/** `password` must not hold a single quote (CREATE ROLE takes a literal, not a parameter). */
export const roleDatabase = (password: string) =>
  Effect.gen(function*() {
    const admin = new URL(Redacted.value(adminUrl()))
    const sql = Context.get(yield* Layer.build(pool(adminUrl(), { maxConnections: 2 })), SqlClient.SqlClient)
    const role = `seed_url_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`
    // Created before the database, so dropped after it (scope finalizers run in reverse).
    yield* Effect.acquireRelease(
      sql.unsafe(`create role ${role} login password '${password}'`),
      () => sql.unsafe(`drop role if exists ${role}`).pipe(Effect.orDie)
    )
    const { name: database } = yield* scratchDatabase(adminUrl(), "seed_urls")
    yield* sql.unsafe(`alter database ${database} owner to ${role}`)
    return { role, database, host: admin.hostname, port: Number(admin.port || "5432") } satisfies RoleDatabase
  })
