/**
 * The database URL corpus (issue 11): 40 forms through every command that takes a database URL, from
 * `--database-url` and from `DATABASE_URL`, reachable (the real server, also over IPv6, Unix sockets
 * and TLS through test/support/PgProxy.ts) and unreachable. The password (a real one: a role created for
 * this file, so it also works where the server checks passwords) never appears in stdout, stderr, the
 * JSON report or the logs; an unreachable URL is still described by host, port and database.
 */
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { pgProxy, selfSignedCertificate } from "../../support/PgProxy.js"
import { roleDatabase } from "../../support/RoleDatabase.js"
import { type CliOutcome, runCli } from "../../support/runCli.js"

/** Every piece between the characters a URL treats specially carries the marker `Cnry`. */
const password = "CnryA@CnryB:CnryC/CnryD?CnryE#CnryF%CnryG&CnryH=CnryI;CnryJ+CnryK"
const marker = "Cnry"
const encoded = encodeURIComponent(password)
/** Every character as %XX, letters included: the written form shares nothing with the password. */
const fullyEncoded = (text: string) =>
  Array.from(new TextEncoder().encode(text), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("")

interface Target {
  readonly role: string
  readonly database: string
  readonly port: number
  readonly v6Port: number
  readonly tlsPort: number
  /** Directories holding `.s.PGSQL.<port>` and `.s.PGSQL.5432`. */
  readonly socketDir: string
  readonly defaultSocketDir: string
}

class Corpus extends Context.Tag("test/UrlCorpus")<Corpus, {
  readonly reachable: Target
  readonly unreachable: Target
}>() {}

const freePort = (host: string) =>
  Effect.async<number>((resume) => {
    const server = Net.createServer().listen(0, host, () => {
      const address = server.address()
      server.close(() => resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0)))
    })
  })

const temporaryDirectory = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "url-corpus-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

const openaiKey = "sk-url-corpus-key-0123456789abcdef"
const providers = { CODER_AIBRIDGE_OPENAI_KEY: openaiKey }

const plainUrl = (t: Target) => `postgres://${t.role}:${encoded}@127.0.0.1:${t.port}/${t.database}`

const corpusLayer = Layer.scoped(
  Corpus,
  Effect.gen(function*() {
    const { database, host, port, role } = yield* roleDatabase(password)
    const upstream = { host, port }
    const certificate = yield* selfSignedCertificate
    const socketDir = yield* temporaryDirectory
    const defaultSocketDir = yield* temporaryDirectory
    const emptyDir = yield* temporaryDirectory
    const v6 = yield* pgProxy({ listen: { host: "::1" }, upstream })
    const tls = yield* pgProxy({ listen: { host: "127.0.0.1" }, upstream, tls: certificate })
    yield* pgProxy({ listen: { path: Path.join(socketDir, `.s.PGSQL.${port}`) }, upstream })
    yield* pgProxy({ listen: { path: Path.join(defaultSocketDir, ".s.PGSQL.5432") }, upstream })
    const reachable: Target = {
      role,
      database,
      port,
      v6Port: v6.port,
      tlsPort: tls.port,
      socketDir,
      defaultSocketDir
    }
    const closed = yield* freePort("127.0.0.1")
    const unreachable: Target = {
      ...reachable,
      port: closed,
      v6Port: yield* freePort("::1"),
      tlsPort: closed,
      socketDir: emptyDir,
      defaultSocketDir: emptyDir
    }
    // The provider that every reachable command finds.
    const seeded = yield* runCli(["seed"], { ...providers, DATABASE_URL: plainUrl(reachable) })
    expect(seeded.code, seeded.all).toBe(0)
    return { reachable, unreachable }
  })
)

interface Form {
  readonly title: string
  readonly url: (t: Target) => string
}

interface AcceptedForm extends Form {
  /** How the connect step names the target. */
  readonly described: (t: Target) => string
}

const tcp = (t: Target) => `127.0.0.1:${t.port}/${t.database}`
const socket = (dir: string, port: number, t: Target) => `unix socket ${dir}/.s.PGSQL.${port}, database ${t.database}`

const accepted: ReadonlyArray<AcceptedForm> = [
  { title: "postgres://", url: plainUrl, described: tcp },
  {
    title: "postgresql://",
    url: (t) => `postgresql://${t.role}:${encoded}@127.0.0.1:${t.port}/${t.database}`,
    described: tcp
  },
  {
    title: "scheme in capitals",
    url: (t) => `PostgreSQL://${t.role}:${encoded}@127.0.0.1:${t.port}/${t.database}`,
    described: tcp
  },
  {
    title: "raw colons in the password",
    url: (t) => `postgres://${t.role}:${encoded.replaceAll("%3A", ":")}@127.0.0.1:${t.port}/${t.database}`,
    described: tcp
  },
  {
    title: "everything percent-encoded",
    url: (t) =>
      `postgres://${fullyEncoded(t.role)}:${fullyEncoded(password)}@127.0.0.1:${t.port}/${fullyEncoded(t.database)}`,
    described: tcp
  },
  {
    title: "password in the query",
    url: (t) => `postgres://${t.role}@127.0.0.1:${t.port}/${t.database}?password=${encoded}`,
    described: tcp
  },
  {
    title: "user and password in the query",
    url: (t) => `postgres://127.0.0.1:${t.port}/${t.database}?user=${t.role}&password=${encoded}`,
    described: tcp
  },
  {
    title: "everything in the query",
    url: (t) => `postgres://?host=127.0.0.1&port=${t.port}&dbname=${t.database}&user=${t.role}&password=${encoded}`,
    described: tcp
  },
  {
    title: "empty host with a host parameter",
    url: (t) => `postgres://${t.role}:${encoded}@/${t.database}?host=127.0.0.1&port=${t.port}`,
    described: tcp
  },
  {
    title: "the query's password wins over the user information's",
    url: (t) => `postgres://${t.role}:CnryWrong@127.0.0.1:${t.port}/${t.database}?password=${encoded}`,
    described: tcp
  },
  {
    title: "IPv6",
    url: (t) => `postgres://${t.role}:${encoded}@[::1]:${t.v6Port}/${t.database}`,
    described: (t) => `[::1]:${t.v6Port}/${t.database}`
  },
  {
    title: "socket with credentials and an empty host",
    url: (t) => `postgres://${t.role}:${encoded}@/${t.database}?host=${t.socketDir}&port=${t.port}`,
    described: (t) => socket(t.socketDir, t.port, t)
  },
  {
    title: "socket percent-encoded in the authority",
    url: (t) => `postgres://${t.role}:${encoded}@${encodeURIComponent(t.socketDir)}:${t.port}/${t.database}`,
    described: (t) => socket(t.socketDir, t.port, t)
  },
  {
    title: "socket on the default port, password in the query",
    url: (t) =>
      `postgresql:///${t.database}?host=${encodeURIComponent(t.defaultSocketDir)}&user=${t.role}&password=${encoded}`,
    described: (t) => socket(t.defaultSocketDir, 5432, t)
  },
  { title: "sslmode=disable", url: (t) => `${plainUrl(t)}?sslmode=disable`, described: tcp },
  { title: "sslmode=prefer on a server without TLS", url: (t) => `${plainUrl(t)}?sslmode=prefer`, described: tcp },
  {
    title: "sslmode=require over TLS",
    url: (t) => `postgres://${t.role}:${encoded}@127.0.0.1:${t.tlsPort}/${t.database}?sslmode=require`,
    described: (t) => `127.0.0.1:${t.tlsPort}/${t.database}`
  },
  {
    title: "sslmode=allow, application_name and connect_timeout",
    url: (t) => `${plainUrl(t)}?sslmode=allow&application_name=url%20corpus&connect_timeout=20`,
    described: tcp
  },
  { title: "an empty query", url: (t) => `${plainUrl(t)}?`, described: tcp }
]

const refused: ReadonlyArray<Form> = [
  { title: "JDBC", url: (t) => `jdbc:postgresql://${t.role}:${encoded}@127.0.0.1:${t.port}/${t.database}` },
  {
    title: "JDBC with query credentials",
    url: (t) => `jdbc:postgresql://127.0.0.1:${t.port}/${t.database}?user=${t.role}&password=${encoded}`
  },
  { title: "one slash", url: (t) => `postgres:/${t.role}:${encoded}@127.0.0.1:${t.port}/${t.database}` },
  { title: "no slash", url: (t) => `postgres:${t.role}:${encoded}@127.0.0.1:${t.port}/${t.database}` },
  { title: "no scheme", url: (t) => `${t.role}:${encoded}@127.0.0.1:${t.port}/${t.database}` },
  { title: "no scheme, no port", url: (t) => `${t.role}:${encoded}@127.0.0.1/${t.database}` },
  { title: "scheme-relative", url: (t) => `//${t.role}:${encoded}@127.0.0.1:${t.port}/${t.database}` },
  { title: "another scheme", url: (t) => `mysql://${t.role}:${encoded}@127.0.0.1:${t.port}/${t.database}` },
  { title: "the raw password", url: (t) => `postgres://${t.role}:${password}@127.0.0.1:${t.port}/${t.database}` },
  { title: "raw @ in the password", url: (t) => `postgres://${t.role}:CnryA@CnryB@127.0.0.1:${t.port}/${t.database}` },
  { title: "raw / in the password", url: (t) => `postgres://${t.role}:CnryA/CnryB@127.0.0.1:${t.port}/${t.database}` },
  {
    title: "raw / after digits in the password",
    url: (t) => `postgres://${t.role}:1234/CnryB@127.0.0.1:${t.port}/${t.database}`
  },
  { title: "raw ? in the password", url: (t) => `postgres://${t.role}:CnryA?CnryB@127.0.0.1:${t.port}/${t.database}` },
  { title: "raw # in the password", url: (t) => `postgres://${t.role}:CnryA#CnryB@127.0.0.1:${t.port}/${t.database}` },
  {
    title: "raw & in a query password",
    url: (t) => `${plainUrl(t).split(":" + encoded).join("")}?password=CnryA&CnryB`
  },
  { title: "bad percent-encoding", url: (t) => `postgres://${t.role}:%ZZCnry@127.0.0.1:${t.port}/${t.database}` },
  {
    title: "several hosts",
    url: (t) => `postgres://${t.role}:${encoded}@127.0.0.1:${t.port},127.0.0.1:${t.port}/${t.database}`
  },
  { title: "unclosed IPv6 bracket", url: (t) => `postgres://${t.role}:${encoded}@[::1:${t.v6Port}/${t.database}` },
  {
    title: "keyword=value",
    url: (t) => `host=127.0.0.1 port=${t.port} user=${t.role} password=Cnry dbname=${t.database}`
  },
  { title: "node-postgres' sslmode=no-verify", url: (t) => `${plainUrl(t)}?sslmode=no-verify` },
  { title: "an unknown parameter", url: (t) => `${plainUrl(t)}?CnryParam=1` }
]

interface Command {
  readonly args: ReadonlyArray<string>
  /** What the command does once connected to this file's database. */
  readonly reached: (outcome: CliOutcome) => void
}

const commands: ReadonlyArray<Command> = [
  {
    args: ["seed", "--format", "json"],
    reached: (outcome) => {
      expect(outcome.code, outcome.all).toBe(0)
      expect(JSON.parse(outcome.stdout).providers).toMatchObject([{ name: "openai", action: "unchanged" }])
    }
  },
  {
    args: ["migrate"],
    reached: (outcome) => expect([outcome.code, outcome.stdout], outcome.all).toEqual([0, "The schema is up to date."])
  },
  {
    args: ["providers", "list", "--format", "json"],
    reached: (outcome) => {
      expect(outcome.code, outcome.all).toBe(0)
      expect(JSON.parse(outcome.stdout).providers).toMatchObject([{ name: "openai" }])
    }
  },
  {
    args: ["providers", "adopt", "openai"],
    reached: (outcome) =>
      expect([outcome.code, outcome.stderr], outcome.all).toEqual([2, expect.stringContaining("does not differ")])
  },
  {
    args: ["providers", "delete", "url-corpus-missing"],
    reached: (outcome) =>
      expect([outcome.code, outcome.stderr], outcome.all).toEqual([
        2,
        expect.stringContaining("no provider with this name is stored")
      ])
  }
]

type Source = "--database-url" | "DATABASE_URL"
const sources: ReadonlyArray<Source> = ["--database-url", "DATABASE_URL"]

/** Runs a command with the URL from the given source; nothing it printed or logged may hold the password. */
const run = (command: Command, url: string, source: Source, logFormat: string) =>
  Effect.gen(function*() {
    const args = [
      ...command.args,
      "--log-format",
      logFormat,
      ...(source === "--database-url" ? ["--database-url", url] : [])
    ]
    const outcome = yield* runCli(args, { ...providers, ...(source === "DATABASE_URL" ? { DATABASE_URL: url } : {}) })
    for (const secret of [marker, password, encoded, fullyEncoded(password)]) {
      expect(outcome.all, `${command.args.join(" ")} from ${source} printed the password`).not.toContain(secret)
    }
    return outcome
  })

/** The connect step's failure, in the JSON report of `seed` and on stderr of every command. */
const expectUnreachable = (outcome: CliOutcome, command: Command, described: string) => {
  expect(outcome.code, outcome.all).toBe(6)
  expect(outcome.stderr).toContain(`Database step "connect to ${described}" failed`)
  if (command.args[0] === "seed") {
    expect(JSON.parse(outcome.stdout).error).toMatchObject({ _tag: "DatabaseError", step: `connect to ${described}` })
  }
}

const expectRefused = (outcome: CliOutcome, command: Command, source: Source) => {
  expect(outcome.code, outcome.all).toBe(2)
  expect(outcome.stderr).toContain(`Invalid configuration in ${source}: the database URL `)
  if (command.args[0] === "seed") {
    expect(JSON.parse(outcome.stdout).error).toMatchObject({ _tag: "InvalidConfiguration", variables: [source] })
  }
}

/**
 * Each form runs every command once; the source (and, for refused forms, whether the URL is reachable)
 * rotates with the command and the form, so every command meets every source and every form both.
 * The source changes only where the URL comes from, never how it is parsed.
 */
const rotation = <A>(items: ReadonlyArray<A>, form: number, command: number): A =>
  items[(form + command) % items.length]!

layer(corpusLayer, { excludeTestServices: true, timeout: "120 seconds" })("database URL corpus", (it) => {
  it("has at least 30 forms", () => expect(accepted.length + refused.length).toBeGreaterThanOrEqual(30))

  accepted.forEach((form, index) => {
    const logFormat = index % 2 === 0 ? "json" : "logfmt"
    it.effect(`${form.title}: reachable, every command connects`, () =>
      Effect.gen(function*() {
        const { reachable } = yield* Corpus
        for (const [i, command] of commands.entries()) {
          command.reached(yield* run(command, form.url(reachable), rotation(sources, index, i), logFormat))
        }
      }))
    it.effect(`${form.title}: unreachable, described by host, port and database`, () =>
      Effect.gen(function*() {
        const { unreachable } = yield* Corpus
        for (const [i, command] of commands.entries()) {
          const outcome = yield* run(command, form.url(unreachable), rotation(sources, index, i + 1), logFormat)
          expectUnreachable(outcome, command, form.described(unreachable))
        }
      }))
  })

  refused.forEach((form, index) => {
    const logFormat = index % 2 === 0 ? "json" : "logfmt"
    it.effect(`${form.title}: refused as invalid configuration, reachable or not`, () =>
      Effect.gen(function*() {
        const corpus = yield* Corpus
        const cases = sources.flatMap((source) =>
          [corpus.reachable, corpus.unreachable].map((target) => ({ source, target }))
        )
        for (const [i, command] of commands.entries()) {
          const { source, target } = rotation(cases, index, i)
          expectRefused(yield* run(command, form.url(target), source, logFormat), command, source)
        }
      }))
  })
})
