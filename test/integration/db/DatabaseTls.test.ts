/**
 * `sslmode` as libpq documents it, against the real server behind a TLS front (test/support/PgProxy.ts):
 * which way each mode connects, where it falls back, and what it verifies.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Redacted } from "effect"
import * as Path from "node:path"
import { pool } from "../../../src/db/Database.js"
import { pgProxy, type ProxyCounts, selfSignedCertificate } from "../../support/PgProxy.js"
import { adminUrl } from "../../support/TestDatabase.js"

interface Front {
  readonly port: number
  readonly counts: ProxyCounts
}

class Fronts extends Context.Tag("test/Fronts")<Fronts, {
  /** TLS on 127.0.0.1 (the certificate's name) and on ::1 (not its name). */
  readonly tls: Front
  readonly tlsV6: Front
  /** Refuses plaintext like a `hostssl`-only pg_hba.conf. */
  readonly tlsOnly: Front
  readonly certFile: string
  readonly otherCertFile: string
}>() {}

const admin = () => new URL(Redacted.value(adminUrl()))

const frontsLayer = Layer.scoped(
  Fronts,
  Effect.gen(function*() {
    const upstream = { host: admin().hostname, port: Number(admin().port || "5432") }
    const certificate = yield* selfSignedCertificate
    const other = yield* selfSignedCertificate
    return {
      tls: yield* pgProxy({ listen: { host: "127.0.0.1" }, upstream, tls: certificate }),
      tlsV6: yield* pgProxy({ listen: { host: "::1" }, upstream, tls: certificate }),
      tlsOnly: yield* pgProxy({ listen: { host: "127.0.0.1" }, upstream, tls: certificate, tlsOnly: true }),
      certFile: certificate.certFile,
      otherCertFile: other.certFile
    }
  })
)

/** The admin URL's user, password and database at another host and port, with query parameters. */
const urlAt = (host: string, port: number, query: string) => {
  const base = admin()
  const userinfo = base.username === "" ? "" : `${base.username}${base.password === "" ? "" : `:${base.password}`}@`
  return `postgres://${userinfo}${host}:${port}${base.pathname}${query === "" ? "" : `?${query}`}`
}

/** Connects with the URL and runs one statement; the exit, and how the front was used meanwhile. */
const connect = (url: string, front?: Front) =>
  Effect.gen(function*() {
    const before = front === undefined ? undefined : { ...front.counts }
    const exit = yield* Effect.scoped(
      Effect.flatMap(Layer.build(pool(Redacted.make(url), { maxConnections: 2 })), (context) =>
        Context.get(context, SqlClient.SqlClient)`select 1 as one`)
    ).pipe(Effect.exit)
    const used = front === undefined || before === undefined ? undefined : {
      tls: front.counts.tls - before.tls,
      plaintext: front.counts.plaintext - before.plaintext,
      refused: front.counts.refused - before.refused
    }
    return { exit, used }
  })

const failure = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.match(exit, {
    onFailure: (cause) => JSON.stringify(cause),
    onSuccess: () => "succeeded"
  })

layer(frontsLayer, { excludeTestServices: true })("sslmode", (it) => {
  it.effect("disable and allow connect in plaintext to a server that offers TLS", () =>
    Effect.gen(function*() {
      const { tls } = yield* Fronts
      for (const mode of ["disable", "allow"]) {
        const { exit, used } = yield* connect(urlAt("127.0.0.1", tls.port, `sslmode=${mode}`), tls)
        expect(Exit.isSuccess(exit), failure(exit)).toBe(true)
        expect(used).toMatchObject({ tls: 0 })
        expect(used?.plaintext).toBeGreaterThan(0)
      }
    }))

  it.effect("prefer (also the default) and require encrypt when the server offers TLS, without verifying it", () =>
    Effect.gen(function*() {
      const { tls } = yield* Fronts
      for (const query of ["", "sslmode=prefer", "sslmode=require"]) {
        const { exit, used } = yield* connect(urlAt("127.0.0.1", tls.port, query), tls)
        expect(Exit.isSuccess(exit), failure(exit)).toBe(true)
        expect(used).toMatchObject({ plaintext: 0 })
        expect(used?.tls).toBeGreaterThan(0)
      }
    }))

  it.effect("prefer falls back to plaintext when the server has no TLS; require does not", () =>
    Effect.gen(function*() {
      const plain = new URL(urlAt(admin().hostname, Number(admin().port || "5432"), ""))
      const preferred = yield* connect(`${plain.href}?sslmode=prefer`)
      expect(Exit.isSuccess(preferred.exit), failure(preferred.exit)).toBe(true)
      const required = yield* connect(`${plain.href}?sslmode=require`)
      expect(failure(required.exit)).toContain("The server does not support SSL connections")
      expect(failure(required.exit)).toContain("DatabaseError")
    }))

  it.effect("allow retries with TLS when the server refuses plaintext; disable does not", () =>
    Effect.gen(function*() {
      const { tlsOnly } = yield* Fronts
      const allowed = yield* connect(urlAt("127.0.0.1", tlsOnly.port, "sslmode=allow"), tlsOnly)
      expect(Exit.isSuccess(allowed.exit), failure(allowed.exit)).toBe(true)
      expect(allowed.used?.refused).toBeGreaterThan(0)
      expect(allowed.used?.tls).toBeGreaterThan(0)
      const disabled = yield* connect(urlAt("127.0.0.1", tlsOnly.port, "sslmode=disable"), tlsOnly)
      expect(failure(disabled.exit)).toContain("28000")
      expect(disabled.used).toMatchObject({ tls: 0, refused: 1 })
    }))

  it.effect("verify-full checks the chain and the host; verify-ca and require with sslrootcert the chain only", () =>
    Effect.gen(function*() {
      const { certFile, otherCertFile, tls, tlsV6 } = yield* Fronts
      const ok = (host: string, front: Front, query: string) =>
        Effect.map(connect(urlAt(host, front.port, query)), ({ exit }) => failure(exit))
      expect(yield* ok("127.0.0.1", tls, `sslmode=verify-full&sslrootcert=${certFile}`)).toBe("succeeded")
      // ::1 is not the certificate's name.
      expect(yield* ok("[::1]", tlsV6, `sslmode=verify-full&sslrootcert=${certFile}`)).toContain(
        "IP: ::1 is not in the cert's list"
      )
      expect(yield* ok("[::1]", tlsV6, `sslmode=verify-ca&sslrootcert=${certFile}`)).toBe("succeeded")
      expect(yield* ok("[::1]", tlsV6, `sslmode=require&sslrootcert=${certFile}`)).toBe("succeeded")
      // Signed by another authority, or by none the system knows.
      expect(yield* ok("127.0.0.1", tls, `sslmode=verify-ca&sslrootcert=${otherCertFile}`)).toContain("DatabaseError")
      expect(yield* ok("127.0.0.1", tls, `sslmode=require&sslrootcert=${otherCertFile}`)).toContain("DatabaseError")
      expect(yield* ok("127.0.0.1", tls, "sslmode=verify-full")).toContain("self-signed certificate")
      expect(yield* ok("127.0.0.1", tls, "sslmode=verify-full&sslrootcert=system")).toContain("self-signed certificate")
    }))

  it.effect("a certificate file that cannot be read is invalid configuration naming the parameter", () =>
    Effect.gen(function*() {
      const { tls } = yield* Fronts
      const missing = Path.join(Path.dirname((yield* Fronts).certFile), "missing.pem")
      const { exit, used } = yield* connect(
        urlAt("127.0.0.1", tls.port, `sslmode=verify-full&sslrootcert=${missing}`),
        tls
      )
      expect(failure(exit)).toContain("InvalidConfiguration")
      expect(failure(exit)).toContain("sslrootcert names a file that cannot be read (ENOENT)")
      expect(used).toEqual({ tls: 0, plaintext: 0, refused: 0 })
    }))
})
