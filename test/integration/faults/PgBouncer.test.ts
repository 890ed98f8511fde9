/**
 * PgBouncer in transaction pooling mode in front of the run's server (issue 6): concurrent seeds through
 * it stay serialized and correct, because the seed lock is transaction-scoped. Needs the `pgbouncer`
 * binary (Debian package `pgbouncer`; .ci/run installs it); skipped with a note when it is missing.
 */
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Redacted, Schedule } from "effect"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import Pg from "pg"
import { completion, runProgram, start } from "../../support/Program.js"
import * as TestDatabase from "../../support/TestDatabase.js"
import { counts, expectNoCanaries } from "./Faults.js"

const binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].find((path) => existsSync(path))
if (binary === undefined) console.warn("pgbouncer is not installed (apt-get install -y pgbouncer): test skipped")

const freePort = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** PgBouncer on a free loopback port, as the `postgres` user when we are root (it refuses to run as root). */
const pgbouncer = (serverUrl: string) =>
  Effect.gen(function*() {
    const server = new URL(serverUrl)
    const port = yield* freePort
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "ai-provider-seed-pgbouncer-"))),
      (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
    )
    const user = decodeURIComponent(server.username) || "postgres"
    // The embedded server admits its owner by password: PgBouncer gets it (to log in with SCRAM) and asks
    // clients for it in turn. A server without one (a local trust setup) keeps trust.
    const password = decodeURIComponent(server.password)
    const config = [
      "[databases]",
      `* = host=${server.hostname} port=${server.port || "5432"}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      `auth_type = ${password === "" ? "trust" : "scram-sha-256"}`,
      `auth_file = ${dir}/users.txt`,
      "pool_mode = transaction",
      "default_pool_size = 4",
      "max_client_conn = 100",
      "ignore_startup_parameters = extra_float_digits,options",
      `logfile = ${dir}/pgbouncer.log`
    ]
    const asRoot = process.getuid?.() === 0
    yield* Effect.promise(async () => {
      await Fs.writeFile(Path.join(dir, "pgbouncer.ini"), config.join("\n") + "\n", { mode: 0o600 })
      await Fs.writeFile(Path.join(dir, "users.txt"), `"${user}" "${password}"\n`, { mode: 0o600 })
      // As root it runs as the server user, which must read its configuration and write its log: only it.
      if (asRoot) {
        for (const path of [dir, Path.join(dir, "pgbouncer.ini"), Path.join(dir, "users.txt")]) {
          await Fs.chown(path, ...(await serverIds()))
        }
      }
    })
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(binary ?? "pgbouncer", [...(asRoot ? ["-u", "postgres"] : []), Path.join(dir, "pgbouncer.ini")], {
          stdio: ["ignore", "ignore", "pipe"]
        })
      ),
      (child) => Effect.sync(() => child.kill("SIGTERM"))
    )
    child.stderr?.resume()
    const credentials = password === "" ? user : `${user}:${encodeURIComponent(password)}`
    const url = `postgres://${credentials}@127.0.0.1:${port}${server.pathname}`
    // Ready when a query goes through it.
    yield* Effect.tryPromise(async () => {
      const client = new Pg.Client({ connectionString: url })
      await client.connect()
      await client.query("select 1")
      await client.end()
    }).pipe(
      Effect.retry(Schedule.intersect(Schedule.spaced(Duration.millis(100)), Schedule.recurs(100))),
      Effect.orDie
    )
    return (database: string) => `postgres://${credentials}@127.0.0.1:${port}/${database}`
  })

/** The `postgres` user's uid and gid (PgBouncer refuses to run as root). */
const serverIds = async (): Promise<[number, number]> => {
  const passwd = await Fs.readFile("/etc/passwd", "utf8")
  const fields = passwd.split("\n").find((line) => line.startsWith("postgres:"))?.split(":")
  return [Number(fields?.[2]), Number(fields?.[3])]
}

const replicas = 6
const key = (name: string) => `sk-canary-pgbouncer-${name}-0123456789abcdef`
const accessKey = "AKIACANARYPGBOUNCER0"
const accessSecret = "canary/pgbouncer/bedrock/secret/0123456789"
const shared = {
  CODER_AIBRIDGE_OPENAI_KEY: key("openai"),
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: accessKey,
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: accessSecret,
  CODER_AIBRIDGE_BEDROCK_REGION: "us-east-1",
  ...Object.fromEntries(
    Array.from({ length: 5 }, (_, i) => [
      [`CODER_AIBRIDGE_PROVIDER_${i}_TYPE`, "openai"],
      [`CODER_AIBRIDGE_PROVIDER_${i}_NAME`, `shared-${i}`],
      [`CODER_AIBRIDGE_PROVIDER_${i}_KEY`, key(`shared-${i}`)]
    ]).flat()
  ),
  CODER_AIBRIDGE_PROVIDER_5_TYPE: "copilot"
}
/** Each replica also configures a provider of its own, so every run writes. */
const replicaEnv = (replica: number) => ({
  ...shared,
  CODER_AIBRIDGE_PROVIDER_6_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_6_NAME: `replica-${replica}`,
  CODER_AIBRIDGE_PROVIDER_6_KEY: key(`replica-${replica}`)
})
const secrets = [accessKey, accessSecret, "sk-canary-pgbouncer-"]

interface Report {
  readonly providers: ReadonlyArray<{ readonly name: string; readonly action: string }>
}

layer(TestDatabase.layer(), { excludeTestServices: true })("PgBouncer (transaction pooling) in front", (it) => {
  it.effect.skipIf(binary === undefined)(
    "concurrent seeds through PgBouncer stay serialized and correct",
    () =>
      Effect.gen(function*() {
        const { name } = yield* TestDatabase.TestDatabase
        const through = yield* pgbouncer(Redacted.value(TestDatabase.adminUrl()))
        const url = through(name)
        const results = yield* Effect.promise(() =>
          Promise.all(
            Array.from(
              { length: replicas },
              (_, replica) =>
                completion(start(["seed", "--format", "json"], { ...replicaEnv(replica), DATABASE_URL: url }))
            )
          )
        )
        for (const result of results) expect(result.code, result.stderr.slice(-2000)).toBe(0)
        const reports = results.map((result) => JSON.parse(result.stdout) as Report)
        // Every shared provider was inserted by exactly one replica; the others found it unchanged.
        for (const provider of ["anthropic", "openai", ...Array.from({ length: 5 }, (_, i) => `shared-${i}`)]) {
          const actions = reports.map((report) => report.providers.find((p) => p.name === provider)?.action)
          expect(actions.filter((action) => action === "inserted"), provider).toHaveLength(1)
          expect(actions.filter((action) => action === "unchanged"), provider).toHaveLength(replicas - 1)
        }
        // 2 legacy + 5 shared + 1 per replica; keys: openai, 5 shared, 1 per replica; one audit row per row.
        const providers = 7 + replicas
        const keys = 6 + replicas
        expect(yield* counts).toEqual({ providers, keys, audit: providers + keys, runs: replicas })
        yield* expectNoCanaries(results.flatMap((result) => [result.stdout, result.stderr]), secrets)
      }).pipe(Effect.scoped),
    { timeout: 180_000 }
  )

  it.effect.skipIf(binary === undefined)(
    "the seed lock holds through PgBouncer: a held lock times out the seed",
    () =>
      Effect.gen(function*() {
        const { name, url: direct } = yield* TestDatabase.TestDatabase
        const through = yield* pgbouncer(Redacted.value(TestDatabase.adminUrl()))
        const before = yield* counts
        // Another session holds the seed lock, directly on the server.
        yield* Effect.acquireRelease(
          Effect.promise(async () => {
            const client = new Pg.Client({ connectionString: Redacted.value(direct) })
            await client.connect()
            await client.query("begin")
            await client.query("select pg_advisory_xact_lock(10)")
            return client
          }),
          (client) => Effect.promise(() => client.end())
        )
        const result = yield* Effect.promise(() =>
          runProgram(["seed", "--format", "json", "--lock-timeout", "1s"], {
            ...replicaEnv(99),
            DATABASE_URL: through(name)
          })
        )
        expect(result.code, result.stderr.slice(-2000)).toBe(5)
        expect(JSON.parse(result.stdout).error._tag).toBe("LockTimeout")
        expect(yield* counts).toEqual(before)
        yield* expectNoCanaries([result.stdout, result.stderr], secrets)
      }).pipe(Effect.scoped),
    { timeout: 120_000 }
  )
})
