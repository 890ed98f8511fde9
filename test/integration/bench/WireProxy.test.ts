import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import Pg from "pg"
import * as WireProxy from "../../../bench/WireProxy.js"
import * as TestDatabase from "../../support/TestDatabase.js"

/** A pg client through the proxy, ended with the scope. */
const clientVia = (proxy: WireProxy.WireProxy, url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Pg.Client({ connectionString: proxy.via(url) })
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end())
  )

const proxyFor = (url: string, delayMs = 0) => {
  const target = new URL(url)
  return WireProxy.make({ target: { host: target.hostname, port: Number(target.port || 5432) }, delayMs })
}

layer(TestDatabase.layer(), { excludeTestServices: true })("bench/WireProxy", (it) => {
  it.scoped("counts each statement once: simple queries, and extended ones by Execute, however often prepared", () =>
    Effect.gen(function*() {
      const url = Redacted.value((yield* TestDatabase.TestDatabase).url)
      const proxy = yield* proxyFor(url)
      const client = yield* clientVia(proxy, url)
      yield* Effect.promise(async () => {
        await client.query("begin")
        await client.query("select 1")
        await client.query("select $1::int as n", [2])
        // A named statement: Parse once, then Bind/Execute only.
        await client.query({ name: "again", text: "select $1::text as t", values: ["a"] })
        await client.query({ name: "again", text: "select $1::text as t", values: ["b"] })
        await client.query("commit")
      })
      const summary = proxy.summary()
      expect(summary.texts).toEqual([
        "begin",
        "select 1",
        "select $1::int as n",
        "select $1::text as t",
        "select $1::text as t",
        "commit"
      ])
      expect(summary.statements).toBe(6)
      expect(summary.transactionControl).toBe(2)
      expect(proxy.statements.map((statement) => statement.protocol)).toEqual([
        "simple",
        "simple",
        "extended",
        "extended",
        "extended",
        "simple"
      ])
      // One ReadyForQuery after the startup, then one per statement.
      expect(summary.roundTrips).toBe(7)
      expect(summary.connections).toBe(1)
    }))

  it.scoped("counts each statement of a simple query that holds several, in one round trip", () =>
    Effect.gen(function*() {
      const url = Redacted.value((yield* TestDatabase.TestDatabase).url)
      const proxy = yield* proxyFor(url)
      const client = yield* clientVia(proxy, url)
      yield* Effect.promise(async () => {
        await client.query("begin; select set_config('application_name', 'a;b', true), 'it''s;' as \"x;y\"; ")
        await client.query("commit")
      })
      const summary = proxy.summary()
      expect(summary.texts).toEqual([
        "begin",
        "select set_config('application_name', 'a;b', true), 'it''s;' as \"x;y\"",
        "commit"
      ])
      expect(summary.statements).toBe(3)
      expect(summary.roundTrips).toBe(3)
    }))

  it.scoped("adds the delay each way: a round trip takes at least twice the delay longer", () =>
    Effect.gen(function*() {
      const url = Redacted.value((yield* TestDatabase.TestDatabase).url)
      const delayMs = 25
      const proxy = yield* proxyFor(url, delayMs)
      const client = yield* clientVia(proxy, url)
      const elapsed = yield* Effect.promise(async () => {
        const started = performance.now()
        for (let i = 0; i < 4; i++) await client.query("select 1")
        return performance.now() - started
      })
      // A lower bound only: a loaded machine makes it slower, never faster.
      expect(elapsed).toBeGreaterThanOrEqual(4 * 2 * delayMs)
      expect(proxy.summary().statements).toBe(4)
    }))

  it.scoped("closing the proxy ends its connections: the client is told instead of waiting", () =>
    Effect.gen(function*() {
      const url = Redacted.value((yield* TestDatabase.TestDatabase).url)
      const terminated = yield* Effect.scoped(Effect.gen(function*() {
        const proxy = yield* proxyFor(url)
        const client = new Pg.Client({ connectionString: proxy.via(url) })
        yield* Effect.promise(() => client.connect())
        return new Promise<string>((resolve) => client.once("error", (error) => resolve(error.message)))
      }))
      // Bounded by the test timeout: a proxy that left the socket open would never end it.
      expect(yield* Effect.promise(() => terminated)).toBe("Connection terminated unexpectedly")
    }))
})
