/**
 * Database URLs through the real program, where the driver could print on its own (issue 11, items 1
 * and 6): with `--log-format json` stderr holds nothing but JSON log lines (pg's multi-line SECURITY
 * WARNING for `sslmode=require` is gone), and neither stream ever holds the password.
 */
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { pgProxy, selfSignedCertificate } from "../../support/PgProxy.js"
import { type ProgramResult, runProgram } from "../../support/Program.js"
import { roleDatabase } from "../../support/RoleDatabase.js"

const password = "CnryA@CnryB:CnryC/CnryD"
const encoded = encodeURIComponent(password)
const providers = { CODER_AIBRIDGE_OPENAI_KEY: "sk-url-program-key-0123456789abcdef" }

class Server extends Context.Tag("test/UrlProgramServer")<Server, {
  /** `postgres://role:password@127.0.0.1:PORT/database` for a port. */
  readonly url: (port: number) => string
  readonly port: number
  readonly tlsPort: number
  readonly certFile: string
}>() {}

const serverLayer = Layer.scoped(
  Server,
  Effect.gen(function*() {
    const { database, host, port, role } = yield* roleDatabase(password)
    const certificate = yield* selfSignedCertificate
    const tls = yield* pgProxy({ listen: { host: "127.0.0.1" }, upstream: { host, port }, tls: certificate })
    return {
      url: (port: number) => `postgres://${role}:${encoded}@127.0.0.1:${port}/${database}`,
      port,
      tlsPort: tls.port,
      certFile: certificate.certFile
    }
  })
)

const program = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.promise(() => runProgram(args, { ...providers, ...env })).pipe(
    Effect.tap((result) => {
      for (const secret of ["Cnry", password, encoded]) {
        expect(result.stdout + result.stderr, "the password was printed").not.toContain(secret)
      }
    })
  )

/** Every stderr line is one of our JSON log lines. */
const onlyJsonLogLines = (result: ProgramResult) => {
  const lines = result.stderr.split("\n").filter((line) => line !== "")
  for (const line of lines) {
    expect(() => JSON.parse(line), `not a JSON log line: ${line}`).not.toThrow()
    expect(JSON.parse(line)).toHaveProperty("logLevel")
  }
  expect(result.stderr).not.toContain("SECURITY WARNING")
  return lines
}

layer(serverLayer, { excludeTestServices: true, timeout: "120 seconds" })("database URLs through the program", (it) => {
  it.effect("sslmode=require, verify-full and prefer: stderr holds only JSON log lines", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const required = yield* program(
        ["seed", "--log-format", "json", "--database-url", `${server.url(server.tlsPort)}?sslmode=require`]
      )
      // After the seed: the list shows what it inserted.
      const [verified, preferred] = yield* Effect.all([
        program(["migrate", "--log-format", "json"], {
          DATABASE_URL: `${server.url(server.tlsPort)}?sslmode=verify-full&sslrootcert=${server.certFile}`
        }),
        program([
          "providers",
          "list",
          "--log-format",
          "json",
          "--database-url",
          `${server.url(server.port)}?sslmode=prefer`
        ])
      ], { concurrency: "unbounded" })
      expect([required.code, required.stderr]).toEqual([0, expect.any(String)])
      // The seed inserted the provider and said so in a log line.
      expect(onlyJsonLogLines(required).map((line) => JSON.parse(line).annotations)).toContainEqual(
        expect.objectContaining({ provider: "openai", action: "inserted" })
      )
      expect([verified.code, verified.stdout.trim()]).toEqual([0, "The schema is up to date."])
      onlyJsonLogLines(verified)
      expect(preferred.code).toBe(0)
      expect(preferred.stdout).toContain("openai (openai, enabled)")
      onlyJsonLogLines(preferred)
    }))

  it.effect("a failure to connect is one line naming the step, without a driver warning", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const [noTls, jdbc, oneSlash, noScheme] = yield* Effect.all([
        program(["seed", "--format", "json", "--log-format", "json"], {
          DATABASE_URL: `${server.url(server.port)}?sslmode=require`
        }),
        // The reproductions: each printed the password.
        program([
          "seed",
          "--format",
          "json",
          "--database-url",
          `jdbc:${server.url(server.port).replace("postgres:", "postgresql:")}`
        ]),
        program(["seed", "--format", "json"], { DATABASE_URL: server.url(server.port).replace("//", "/") }),
        program(["migrate"], { DATABASE_URL: server.url(server.port).replace("postgres://", "") })
      ], { concurrency: "unbounded" })
      const database = server.url(server.port).split("/").at(-1)
      expect(noTls.code).toBe(6)
      expect(noTls.stderr.trim().split("\n")).toEqual([
        `Database step "connect to 127.0.0.1:${server.port}/${database}" failed: The server does not support SSL connections. Fix: check that PostgreSQL runs and the database URL is right, then start again.`
      ])
      expect(JSON.parse(noTls.stdout).error).toMatchObject({
        _tag: "DatabaseError",
        step: `connect to 127.0.0.1:${server.port}/${database}`
      })
      expect([jdbc.code, oneSlash.code, noScheme.code]).toEqual([2, 2, 2])
      expect(JSON.parse(jdbc.stdout).error).toMatchObject({
        _tag: "InvalidConfiguration",
        variables: ["--database-url"]
      })
      expect(jdbc.stderr.trim()).toMatch(
        /^Invalid configuration in --database-url: the database URL is a JDBC URL\./
      )
      expect(JSON.parse(oneSlash.stdout).error).toMatchObject({
        _tag: "InvalidConfiguration",
        variables: ["DATABASE_URL"]
      })
      expect(noScheme.stderr.trim()).toMatch(
        /^Invalid configuration in DATABASE_URL: the database URL is not a PostgreSQL URL/
      )
    }))
})
