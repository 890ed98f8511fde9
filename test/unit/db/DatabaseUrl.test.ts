import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, FastCheck as fc, Redacted } from "effect"
import { decodeUrl, describe as describeUrl, parse } from "../../../src/db/DatabaseUrl.js"

/** The parsed URL as plain values (the password revealed, for assertions only). */
const plain = (text: string) =>
  Either.map(parse(text), (url) => ({
    ...url,
    password: url.password === undefined ? undefined : Redacted.value(url.password),
    connectTimeout: url.connectTimeout === undefined ? undefined : Duration.toSeconds(url.connectTimeout),
    described: describeUrl(url)
  }))

const accepted = (text: string) => {
  const result = plain(text)
  if (Either.isLeft(result)) throw new Error(`refused: ${result.left.rule}`)
  return result.right
}

describe("DatabaseUrl.parse: accepted forms", () => {
  it.each(
    [
      [
        "postgres://seed:PW@db.example:6543/app",
        { endpoint: { _tag: "Tcp", host: "db.example", port: 6543 }, database: "app", user: "seed", password: "PW" },
        "db.example:6543/app"
      ],
      [
        "postgresql://seed:PW@db.example/app",
        { endpoint: { _tag: "Tcp", host: "db.example", port: 5432 }, database: "app", user: "seed", password: "PW" },
        "db.example:5432/app"
      ],
      ["POSTGRES://seed@db.example/app", { user: "seed", password: undefined }, "db.example:5432/app"],
      // The first `:` separates user and password; the rest is the password.
      ["postgres://seed:a:b:c@h/app", { user: "seed", password: "a:b:c" }, "h:5432/app"],
      [
        "postgres://se%40ed:p%40ss%2Fw%3Fo%23rd%25%20x@h/my%20db",
        { user: "se@ed", password: "p@ss/w?o#rd% x", database: "my db" },
        "h:5432/my db"
      ],
      ["postgres://seed:%F0%9F%A4%96@h/app", { password: "🤖" }, "h:5432/app"],
      ["postgres://seed:@h/app", { user: "seed", password: undefined }, "h:5432/app"],
      ["postgres://seed:PW@[::1]:5433/app", { endpoint: { _tag: "Tcp", host: "::1", port: 5433 } }, "[::1]:5433/app"],
      [
        "postgres://[2001:db8::1]/app",
        { endpoint: { _tag: "Tcp", host: "2001:db8::1", port: 5432 } },
        "[2001:db8::1]:5432/app"
      ],
      [
        "postgres://u:pw@/app?host=/var/run/postgresql",
        { endpoint: { _tag: "Socket", directory: "/var/run/postgresql", port: 5432 }, password: "pw" },
        "unix socket /var/run/postgresql/.s.PGSQL.5432, database app"
      ],
      [
        "postgres://u:pw@%2Ftmp%2Fpg:6000/app",
        { endpoint: { _tag: "Socket", directory: "/tmp/pg", port: 6000 } },
        "unix socket /tmp/pg/.s.PGSQL.6000, database app"
      ],
      [
        "postgresql:///app?host=%2Ftmp&port=7000",
        { endpoint: { _tag: "Socket", directory: "/tmp", port: 7000 } },
        "unix socket /tmp/.s.PGSQL.7000, database app"
      ],
      [
        "postgres://?host=h&port=6000&dbname=app&user=seed&password=Q%26P",
        { endpoint: { _tag: "Tcp", host: "h", port: 6000 }, database: "app", user: "seed", password: "Q&P" },
        "h:6000/app"
      ],
      // Query parameters win over the authority, as in libpq.
      [
        "postgres://seed:old@h:1/x?password=new&user=other&dbname=app&port=2&host=g",
        { endpoint: { _tag: "Tcp", host: "g", port: 2 }, database: "app", user: "other", password: "new" },
        "g:2/app"
      ],
      [
        "postgres://h",
        { endpoint: { _tag: "Tcp", host: "h", port: 5432 }, database: undefined },
        "h:5432/(default database)"
      ],
      [
        "postgres://",
        { endpoint: { _tag: "Tcp", host: "localhost", port: 5432 } },
        "localhost:5432/(default database)"
      ],
      ["postgres://h/", { database: undefined }, "h:5432/(default database)"],
      ["postgres://h/app?", { database: "app" }, "h:5432/app"],
      ["postgres://h/app?sslmode=require&application_name=x%20y&connect_timeout=3", {
        sslMode: "require",
        applicationName: "x y",
        connectTimeout: 3
      }, "h:5432/app"],
      ["postgres://h/app?sslmode=verify-full&sslrootcert=/etc/ca.pem&sslcert=c.pem&sslkey=k.pem", {
        sslMode: "verify-full",
        sslRootCert: "/etc/ca.pem",
        sslCert: "c.pem",
        sslKey: "k.pem"
      }, "h:5432/app"],
      ["postgres://h/app?sslmode=disable&sslmode=allow", { sslMode: "allow" }, "h:5432/app"],
      ["postgres://h/app", { sslMode: "prefer", applicationName: undefined, connectTimeout: undefined }, "h:5432/app"]
    ] as const
  )("%s", (text, fields, described) => {
    const url = accepted(text)
    expect(url).toMatchObject(fields)
    expect(url.described).toBe(described)
  })
})

describe("DatabaseUrl.parse: refused forms, without quoting them", () => {
  it.each([
    ["", "is empty"],
    ["jdbc:postgresql://seed:CNRY@127.0.0.1:5432/db", "is a JDBC URL"],
    ["jdbc:postgresql://127.0.0.1:5432/db?user=seed&password=CNRY", "is a JDBC URL"],
    ["postgres:/seed:CNRY@host:5432/db", "must start with postgres:// (two slashes)"],
    ["postgresql:seed:CNRY@host/db", "must start with postgres:// (two slashes)"],
    ["seed:CNRY@host/db", "must start with postgres:// or postgresql://"],
    ["seed:CNRY@host:5432/db", "must start with postgres:// or postgresql://"],
    ["//seed:CNRY@host/db", "must start with postgres:// or postgresql://"],
    ["mysql://seed:CNRY@host/db", "the scheme must be postgres or postgresql"],
    ["host=h port=5432 password=CNRY", "whitespace"],
    ["host=h&password=CNRY", "keyword=value"],
    ["postgres://seed:CN@RY@host/db", "an @ that does not end"],
    ["postgres://seed:CN/RY@host/db", "an @ that does not end"],
    ["postgres://seed:5432/CNRY@host/db", "an @ that does not end"],
    ["postgres://seed:CN?RY@host/db", "an @ that does not end"],
    ["postgres://host/db?user=me@corp&password=CNRY", "an @ that does not end"],
    ["postgres://seed:CN#RY@host/db", "contains a #"],
    ["postgres://seed:CNRY@host/db#frag", "contains a #"],
    ["postgres://seed:CN RY@host/db", "whitespace"],
    ["postgres://seed:CNRY@host/db\n", "whitespace"],
    ["postgres://seed:CN%zzRY@host/db", "invalid percent-encoding in the user information"],
    ["postgres://seed:CNRY@host/db?password=%E0%A4%A", "invalid percent-encoding in a query parameter"],
    ["postgres://seed:CNRY@host:port/db", "port that is not a number"],
    ["postgres://seed:CNRY@host:0/db", "port that is not a number"],
    ["postgres://seed:CNRY@host:65536/db", "port that is not a number"],
    ["postgres://seed:CNRY@host/db?port=x", "port that is not a number"],
    ["postgres://seed:CNRY@::1/db", "port that is not a number"],
    ["postgres://seed:CNRY@[::1/db", "invalid IPv6 address"],
    ["postgres://seed:CNRY@[::1]x/db", "invalid IPv6 address"],
    ["postgres://seed:CNRY@h1:5432,h2:5433/db", "several hosts"],
    ["postgres://seed@host/db?password=CN&RY", "without a value"],
    ["postgres://seed@host/db?password=CN&RY=1", "not a libpq connection parameter"],
    [
      "postgres://seed:CNRY@host/db?options=-csearch_path%3Dx",
      "the parameter options, which this program does not support"
    ],
    ["postgres://seed:CNRY@host/db?sslmode=no-verify", "unknown sslmode"],
    ["postgres://seed:CNRY@host/db?connect_timeout=0", "connect_timeout"],
    ["postgres://seed:CNRY@host/db?connect_timeout=1.5", "connect_timeout"],
    ["postgres://seed%3ACNRY:x@host/db", "a user name with a colon"],
    ["postgres://host/db?user=seed%3ACNRY", "a user name with a colon"]
  ])("%j: %s", (text, rule) => {
    const result = parse(text)
    if (Either.isRight(result)) throw new Error("accepted")
    expect(result.left.rule).toContain(rule)
    expect(JSON.stringify(result.left)).not.toContain("CN")
  })

  it("names the source, the rule and the fix in InvalidConfiguration, never the value", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decodeUrl(Redacted.make("postgres:/seed:CNRY@h/db"), "--database-url"))
      expect(error._tag).toBe("InvalidConfiguration")
      expect(error.variables).toEqual(["--database-url"])
      expect(error.message).toBe(
        "Invalid configuration in --database-url: the database URL must start with postgres:// (two slashes). Fix: write a URL such as postgres://user:password@host:5432/database."
      )
    }).pipe(Effect.runPromise))
})

describe("DatabaseUrl.parse: properties", () => {
  it("never throws, and a refusal never quotes any part of the value", () => {
    // Three-letter pieces marked by a code point no message uses.
    const piece = fc.constantFrom(
      "postgres://",
      "jdbc:",
      "@",
      ":",
      "/",
      "?",
      "#",
      "&",
      "=",
      "%",
      "%2F",
      "[",
      "]",
      " ",
      "ŧa",
      "ŧb",
      "ŧc"
    )
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join("")), (text) => {
        const result = parse(text)
        if (Either.isLeft(result)) expect(JSON.stringify(result.left)).not.toMatch(/ŧ/)
      }),
      { numRuns: 3_000 }
    )
  })

  it("reads back any percent-encoded password, and the description never shows it", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 24 }), (secret) => {
        const password = `CNRY${secret}`
        const url = accepted(`postgres://seed:${encodeURIComponent(password)}@db.example:5432/app`)
        expect(url.password).toBe(password)
        expect(url.described).toBe("db.example:5432/app")
        const viaQuery = accepted(`postgres://seed@db.example/app?password=${encodeURIComponent(password)}`)
        expect(viaQuery.password).toBe(password)
      }),
      { numRuns: 1_000 }
    )
  })
})
