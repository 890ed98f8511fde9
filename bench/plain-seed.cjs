/**
 * The baseline: a plain Node process that connects with `pg` and does what a no-op seed must
 * do at least: begin; take the lock; read the providers; commit. DATABASE_URL names the database.
 */
"use strict"
// CommonJS on purpose: the cheapest way for a plain script to load pg (no ES module loader), so the
// baseline is the hardest one to approach.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pg = require("pg")

const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
client.connect()
  .then(async () => {
    await client.query("begin")
    await client.query("select pg_advisory_xact_lock(10)")
    await client.query("select * from ai_providers")
    await client.query("commit")
  })
  .finally(() => client.end())
