/**
 * Findings of a hostile review, each as a test that fails on the reviewed `main` and states the contract
 * it holds the program to (README, SPEC, issues 10, 11, 13). Real processes where the operating system is
 * the point (signals), the in-process command line elsewhere.
 */
import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Path from "node:path"
import { reachableTempDir, remove, until } from "../../support/EmbeddedServers.js"
import { completion, runBounded, runProgram, start } from "../../support/Program.js"
import { runCli } from "../../support/runCli.js"
import { scratchDirectory } from "../../support/ScratchDirectory.js"
import { resetDatabase } from "../../support/Seeding.js"
import * as TestDatabase from "../../support/TestDatabase.js"
import { cli, newKey, providersEnv, withKeys } from "../crypto/Keys.js"

const providerCount = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ n: number }>`select count(*)::int as n from ai_providers`.pipe(Effect.map((rows) => rows[0]?.n))
)

/**
 * Loaded with `--require` before the program: the moment the program installs its first SIGTERM listener
 * (src/cli/EarlySignals.ts, while the bundle's modules are still being evaluated), the process sends
 * itself SIGTERM. That is a signal arriving "while the program is still loading" (README, Interrupted),
 * made deterministic.
 */
const signalWhileLoading = `
const once = process.once.bind(process)
let sent = false
process.once = function (event, listener) {
  const result = once(event, listener)
  if (event === "SIGTERM" && !sent) {
    sent = true
    process.kill(process.pid, "SIGTERM")
  }
  return result
}
`

/**
 * A front for the test server that behaves like a server that stops answering at the worst moment: it
 * pipes both ways until the client sends the seed's insert, then forwards nothing more and stops reading
 * from the client, so the client's write of that statement stays pending (as with a stopped backend whose
 * socket buffers are full). Resolves `stalled` with the time it happened.
 */
const stallingProxy = (upstream: URL) =>
  Effect.acquireRelease(
    Effect.async<{
      server: Net.Server
      port: number
      stalled: Promise<number>
      sockets: Array<Net.Socket>
    }>((resume) => {
      let markStalled: (at: number) => void = () => {}
      const stalled = new Promise<number>((resolve) => (markStalled = resolve))
      const sockets: Array<Net.Socket> = []
      const server = Net.createServer((client) => {
        const server = Net.connect(Number(upstream.port), upstream.hostname)
        sockets.push(client, server)
        let stopped = false
        server.on("data", (chunk) => stopped || client.write(chunk))
        client.on("data", (chunk) => {
          if (stopped) return
          if (chunk.toString("latin1").includes("insert into ai_providers")) {
            stopped = true
            client.pause()
            markStalled(Date.now())
            return
          }
          server.write(chunk)
        })
        // A stopped server closes nothing: the client must find out by itself.
        server.on("error", () => {})
        client.on("error", () => {})
        server.on("close", () => stopped || client.destroy())
        client.on("close", () => server.destroy())
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          server,
          port: (server.address() as Net.AddressInfo).port,
          stalled,
          sockets
        })))
      return Effect.sync(() => server.close())
    }),
    ({ server, sockets }) =>
      Effect.sync(() => {
        for (const socket of sockets) socket.destroy()
        server.close()
      })
  )

layer(TestDatabase.layer(), { excludeTestServices: true })("review findings", (it) => {
  it.scoped(
    "SIGTERM while the modules load: exit 130 and nothing written (README: Interrupted, 'also when the signal arrives while the program is still loading')",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const directory = yield* scratchDirectory("seed-review-")
        const preload = Path.join(directory, "signal-while-loading.cjs")
        yield* Effect.promise(() => Fs.writeFile(preload, signalWhileLoading))
        const outcome = yield* runBounded(["seed", "--format", "json"], {
          CODER_AIBRIDGE_OPENAI_KEY: "sk-review-loading-canary-0001112223",
          DATABASE_URL: yield* TestDatabase.urlText,
          NODE_OPTIONS: `--require ${preload}`
        })
        // Observed: the signal is dropped (EarlySignals' listener is removed before the event loop delivers
        // it), the seed runs to the end, writes the provider and exits 0.
        expect(outcome.code, outcome.stdout + outcome.stderr).toBe(130)
        expect(yield* providerCount).toBe(0)
      }),
    { timeout: 120_000 }
  )

  it.effect(
    "a corrupted ciphertext of a provider the environment does not configure blocks neither the seed of another provider nor `providers list` (README: a row the environment does not configure is none of the seed's business)",
    () =>
      Effect.gen(function*() {
        const key = newKey()
        const env = providersEnv("review")
        const seeded = yield* cli(["seed"], { ...env, ...withKeys(key) })
        expect(seeded.code, seeded.stderr).toBe(0)
        const sql = yield* SqlClient.SqlClient
        // One byte of a key of "gateway" flipped: that provider's key no longer decrypts.
        const [row] = yield* sql<{ id: string; api_key: string }>`
          select k.id, k.api_key from ai_provider_keys k join ai_providers p on p.id = k.provider_id
          where p.name = 'gateway' order by k.id limit 1`
        const bytes = Buffer.from(row!.api_key, "base64")
        bytes[14] = bytes[14]! ^ 0x01
        yield* sql`update ai_provider_keys set api_key = ${bytes.toString("base64")} where id = ${row!.id}`

        // The environment now configures only openai, which is stored and readable.
        const openaiOnly = { CODER_AIBRIDGE_OPENAI_KEY: env.CODER_AIBRIDGE_OPENAI_KEY, ...withKeys(key) }
        const reseeded = yield* cli(["seed", "--format", "json"], openaiOnly)
        // Observed: exit 7, `Cannot decrypt ai_provider_keys.api_key of AI provider "gateway"`.
        expect(reseeded.code, reseeded.stderr).toBe(0)

        // The operator's first diagnostic must work, and show the row it cannot read.
        const listed = yield* cli(["providers", "list", "--format", "json"], withKeys(key))
        expect(listed.code, listed.stderr).toBe(0)
        const providers = JSON.parse(listed.stdout).providers as Array<{ name: string; state: string }>
        expect(providers.find((provider) => provider.name === "gateway")?.state).toBe("unreadable")
        expect(providers.find((provider) => provider.name === "openai")?.state).toBe("enabled")
      }).pipe(Effect.provide(TestDatabase.layer())),
    { timeout: 120_000 }
  )

  it.effect(
    "a database URL whose user:password separator is percent-encoded does not print the password (README: no database password is ever printed)",
    () =>
      Effect.gen(function*() {
        const password = "review-dbpw-canary-4455667788"
        const url = new URL(yield* TestDatabase.urlText)
        // The separator percent-encoded (`encodeURIComponent("seed:" + password)`, then a password): libpq, and
        // this program, read the user name "seed:<password>".
        const encoded = `postgres://seed%3A${password}:not-the-password@${url.host}${url.pathname}?sslmode=disable`
        for (const command of [["seed"], ["providers", "list"], ["migrate"]]) {
          const outcome = yield* runCli([...command, "--database-url", encoded], {
            CODER_AIBRIDGE_OPENAI_KEY: "sk-review-url-canary-0001112223"
          })
          // Before: exit 6, `role "seed:review-dbpw-canary-..." does not exist`: PostgreSQL's reason quotes the
          // user name, which held the password. Now refused before connecting, naming the option.
          expect(outcome.code, outcome.all).toBe(2)
          expect(outcome.stderr).toContain("user name with a colon")
          expect(outcome.all).not.toContain(password)
        }
      })
  )

  it.effect(
    "a usage error does not echo a database URL with its password (a forgotten --database-url, a misspelt option)",
    () =>
      Effect.gen(function*() {
        const password = "review-argv-canary-99887766"
        const url = `postgres://seed:${password}@db.example:5432/providers`
        for (
          const args of [
            ["seed", url],
            ["seed", `--databaseurl=${url}`],
            ["seed", "--lock-timeout", url],
            ["providers", "adopt", "openai", url]
          ]
        ) {
          const outcome = yield* runCli(args)
          expect(outcome.code, outcome.all).toBe(2)
          // Observed: `Received unknown argument: 'postgres://seed:review-argv-canary-...@db.example...'`.
          expect(outcome.all, args.join(" ")).not.toContain(password)
        }
      })
  )

  it.scoped(
    "a NUL byte in an env file value is invalid configuration (exit 2, naming the variable), not a database failure",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const directory = yield* scratchDirectory("seed-review-")
        const file = Path.join(directory, "nul.env")
        yield* Effect.promise(() =>
          Fs.writeFile(file, "CODER_AIBRIDGE_OPENAI_KEY=sk-review-nul-canary\u0000-0001112223\n")
        )
        const outcome = yield* runCli(["seed", "--format", "json", "--dotenv", file], {
          DATABASE_URL: yield* TestDatabase.urlText
        })
        // Observed: exit 6, `Database step "insert providers, keys and audit rows" failed (SQLSTATE 22P05):
        // unsupported Unicode escape sequence. Fix: check that PostgreSQL runs and the database URL is right`
        // (or, with encryption on, the key is stored with its NUL). `config` accepts it with exit 0.
        expect(outcome.code, outcome.all).toBe(2)
        expect(outcome.stderr).toMatch(/CODER_AIBRIDGE_OPENAI_KEY|nul\.env:1/)
        expect(yield* providerCount).toBe(0)
      })
  )

  it.scoped(
    "a conflict in the masked part of a base URL says so: the two masked values differ or carry a hint",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const url = yield* TestDatabase.urlText
        const base = (password: string) => ({
          CODER_AIBRIDGE_OPENAI_KEY: "sk-review-conflict-canary-00011122",
          CODER_AIBRIDGE_OPENAI_BASE_URL: `https://svc:${password}@proxy.example/v1/`,
          DATABASE_URL: url
        })
        const first = yield* runCli(["seed"], base("review-old-canary-1234"))
        expect(first.code, first.all).toBe(0)
        const second = yield* runCli(["seed", "--format", "json"], base("review-new-canary-5678"))
        expect(second.code, second.all).toBe(3)
        expect(second.all).not.toContain("review-old-canary-1234")
        expect(second.all).not.toContain("review-new-canary-5678")
        const report = JSON.parse(second.stdout)
        const [difference] = report.providers.find((provider: { name: string }) => provider.name === "openai")
          .differences as Array<{ field: string; stored?: string; desired?: string; hint?: string }>
        expect(difference?.field).toBe("base_url")
        // Observed: stored "https://***@proxy.example/v1/", environment "https://***@proxy.example/v1/", no
        // hint: the operator is told two identical strings differ (issue 10 item 17 fixed this for keys).
        expect(difference?.stored !== difference?.desired || difference?.hint !== undefined, JSON.stringify(difference))
          .toBe(true)
      })
  )

  it.scoped(
    "a server that stops answering while the seed sends its insert: exit 6 within the documented bound (lock timeout + 15 s)",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const url = new URL(yield* TestDatabase.urlText)
        const proxy = yield* stallingProxy(new URL(url))
        const directory = yield* scratchDirectory("seed-review-")
        const file = Path.join(directory, "providers.env")
        // Enough providers that the insert is larger than the socket buffers can take.
        const lines = Array.from({ length: 10_000 }, (_, i) =>
          `CODER_AIBRIDGE_PROVIDER_${i}_TYPE=openai\nCODER_AIBRIDGE_PROVIDER_${i}_NAME=p${i}\n` +
          `CODER_AIBRIDGE_PROVIDER_${i}_KEY=sk-review-stall-${i}-0123456789abcdef`)
        yield* Effect.promise(() =>
          Fs.writeFile(file, lines.join("\n"))
        )
        url.host = `127.0.0.1:${proxy.port}`
        url.search = "?sslmode=disable"
        const child = start(["seed", "--lock-timeout", "2s", "--dotenv", file], { DATABASE_URL: url.toString() })
        yield* Effect.addFinalizer(() => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL")))
        const done = completion(child)
        const stalledAt = yield* Effect.promise(() =>
          Promise.race([proxy.stalled, done.then((early) => Promise.reject(new Error(JSON.stringify(early))))])
        )
        const outcome = yield* Effect.promise(() => done).pipe(
          Effect.timeoutFail({ duration: "90 seconds", onTimeout: () => new Error("the seed did not end") })
        )
        const elapsed = Date.now() - stalledAt
        expect(outcome.code, outcome.stderr).toBe(6)
        expect(outcome.stderr).toContain("sent nothing for 17s")
        // README: "a server that stops answering mid-run [is bounded] by a client-side limit (lock timeout
        // plus 15 s)", here 17 s. Observed: about 34 s, twice the limit, while the message says 17 s: Node's
        // socket timeout is suppressed once while a write is pending.
        expect(elapsed, outcome.stderr).toBeLessThan(17_000 + 8_000)
      }),
    { timeout: 150_000 }
  )

  it.scoped(
    "a dry run with --on-conflict warn plans what the run would do: exit 0, the conflict does not block the start",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const url = yield* TestDatabase.urlText
        const env = (baseUrl: string) => ({
          CODER_AIBRIDGE_OPENAI_KEY: "sk-review-plan-canary-0001112223",
          CODER_AIBRIDGE_OPENAI_BASE_URL: baseUrl,
          DATABASE_URL: url
        })
        const stored = yield* runCli(["seed"], env("https://api.openai.com/v1/"))
        expect(stored.code, stored.all).toBe(0)
        const changed = env("https://proxy.example/v1/")
        for (const policy of [["--on-conflict", "warn"], []]) {
          const extra = policy.length === 0 ? { AI_PROVIDER_SEED_ON_CONFLICT: "warn" } : {}
          const plan = yield* runCli(["seed", "--dry-run", ...policy], { ...changed, ...extra })
          // Observed: exit 3 and "blocks the start (1)", with the fix "or start with --on-conflict warn", which
          // was given: a CI gate running the deployment's own flags blocks a deploy that would start.
          expect(plan.code, plan.all).toBe(0)
          expect(plan.stdout).not.toMatch(/blocks the start \(\d+\)/)
          expect(plan.stdout).toContain("would leave untouched (--on-conflict warn) (1)")
        }
        const real = yield* runCli(["seed", "--on-conflict", "warn"], changed)
        expect(real.code, real.all).toBe(0)
      })
  )
})

describe("review findings: the embedded default", () => {
  it("a signal after the commit, while the embedded server stops: exit 130 only if nothing was written", async () => {
    const parent = await reachableTempDir("seed-review-embedded-")
    try {
      const dataDir = Path.join(parent, "postgres")
      const env = { AI_PROVIDER_SEED_DATA_DIR: dataDir }
      const args = ["seed", "--format", "json", "--dotenv", "examples/providers.env"]
      const child = start(args, env)
      let stderr = ""
      child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
      const done = completion(child)
      // The run has committed (its summary is logged after the commit); the embedded server is stopping.
      await until("the seed has committed", () => stderr.includes("seed applied") ? true : undefined)
      child.kill("SIGTERM")
      const first = await done
      const second = await runProgram(args, env)
      expect(second.code, second.stderr).toBe(0)
      const actions = (JSON.parse(second.stdout).providers as Array<{ action: string }>).map((p) => p.action)
      const firstWrote = actions.every((action) => action === "unchanged")
      if (first.code === 130) {
        // Observed: exit 130 and `"outcome": "interrupted"` ("its transaction was rolled back and nothing was
        // written"), yet the next run finds all three providers stored.
        expect(firstWrote, `first run: ${first.stdout}`).toBe(false)
      } else {
        expect(first.code, first.stderr).toBe(0)
        expect(JSON.parse(first.stdout).outcome).toBe("applied")
      }
    } finally {
      await remove(parent)
    }
  }, 180_000)
})
