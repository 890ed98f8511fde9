/**
 * A PostgreSQL URL, parsed once into what the pool needs and described for messages without its password.
 *
 * Accepted: libpq's URI form, `postgres://` or `postgresql://` then `[user[:password]@][host][:port][/database]`
 * and `?name=value&...` parameters (host, port, dbname, user, password, sslmode, sslrootcert, sslcert,
 * sslkey, application_name, connect_timeout); a host in brackets is IPv6, a host starting with `/`
 * (`%2F` in the authority) is a Unix socket directory. Components are percent-decoded.
 * Refused, as invalid configuration that never quotes the value: anything else (JDBC, one slash, no
 * scheme, keyword=value strings, several hosts, unknown parameters), and every form where a password
 * could spill into the host, port or database: a raw `@` that does not end the user information, a raw
 * `#`, whitespace. libpq requires the same percent-encoding.
 */
import { Duration, Effect, Either, Redacted } from "effect"
import { InvalidConfiguration } from "../core/Errors.js"

/** libpq's `sslmode` values (https://www.postgresql.org/docs/current/libpq-ssl.html). */
export const sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const
export type SslMode = typeof sslModes[number]

export type Endpoint =
  | { readonly _tag: "Tcp"; readonly host: string; readonly port: number }
  /** node-postgres connects to `<directory>/.s.PGSQL.<port>`. */
  | { readonly _tag: "Socket"; readonly directory: string; readonly port: number }

export interface DatabaseUrl {
  readonly endpoint: Endpoint
  /** Absent: the driver's default (PGDATABASE, else the user name). */
  readonly database: string | undefined
  /** Absent: the driver's default (PGUSER, else the OS user). */
  readonly user: string | undefined
  /** Absent: the driver's default (PGPASSWORD, else ~/.pgpass). */
  readonly password: Redacted.Redacted<string> | undefined
  /** libpq's default is `prefer`. */
  readonly sslMode: SslMode
  /** File paths, read when connecting; `sslrootcert=system` means the system's certificate authorities. */
  readonly sslRootCert: string | undefined
  readonly sslCert: string | undefined
  readonly sslKey: string | undefined
  readonly applicationName: string | undefined
  readonly connectTimeout: Duration.Duration | undefined
}

/** Why a URL is refused: a rule and a fix, never a part of the URL. */
export interface UrlProblem {
  readonly rule: string
  readonly fix: string
}

const example = "postgres://user:password@host:5432/database"
const encodeFix = "percent-encode @, /, ?, # and spaces in the user name and password (%40, %2F, %3F, %23, %20)"

const problem = (rule: string, fix = `write a URL such as ${example}`): Either.Either<never, UrlProblem> =>
  Either.left({ rule, fix })

const supportedParameters = [
  "host",
  "port",
  "dbname",
  "user",
  "password",
  "sslmode",
  "sslrootcert",
  "sslcert",
  "sslkey",
  "application_name",
  "connect_timeout"
] as const
type SupportedParameter = typeof supportedParameters[number]

/** libpq parameters that node-postgres cannot honour: named in the refusal (their names hold no secret). */
const unsupportedLibpqParameters = new Set([
  "hostaddr",
  "passfile",
  "require_auth",
  "channel_binding",
  "client_encoding",
  "options",
  "fallback_application_name",
  "keepalives",
  "keepalives_idle",
  "keepalives_interval",
  "keepalives_count",
  "tcp_user_timeout",
  "replication",
  "gssencmode",
  "requiressl",
  "sslnegotiation",
  "sslcompression",
  "sslpassword",
  "sslcertmode",
  "sslcrl",
  "sslcrldir",
  "sslsni",
  "requirepeer",
  "ssl_min_protocol_version",
  "ssl_max_protocol_version",
  "min_protocol_version",
  "max_protocol_version",
  "krbsrvname",
  "gsslib",
  "gssdelegation",
  "service",
  "target_session_attrs",
  "load_balance_hosts"
])

const isSupported = (name: string): name is SupportedParameter =>
  (supportedParameters as ReadonlyArray<string>).includes(name)

const decode = (text: string, where: string): Either.Either<string, UrlProblem> => {
  try {
    return Either.right(decodeURIComponent(text))
  } catch {
    return problem(`has an invalid percent-encoding in ${where}`, `${encodeFix}; a % itself is %25`)
  }
}

const parsePort = (text: string): Either.Either<number, UrlProblem> => {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN
  return port >= 1 && port <= 65535
    ? Either.right(port)
    : problem("has a port that is not a number from 1 to 65535", `give the port as digits, or ${encodeFix}`)
}

interface Authority {
  readonly user?: string
  readonly password?: string
  readonly host?: string
  readonly port?: number
}

const parseUserinfo = (userinfo: string) =>
  Either.gen(function*() {
    // The first `:` separates user and password, as in libpq: a password may hold more colons.
    const colon = userinfo.indexOf(":")
    const user = yield* decode(colon === -1 ? userinfo : userinfo.slice(0, colon), "the user information")
    const password = colon === -1 ? "" : yield* decode(userinfo.slice(colon + 1), "the user information")
    return { ...(user === "" ? {} : { user }), ...(password === "" ? {} : { password }) }
  })

const parseHostAndPort = (text: string) =>
  Either.gen(function*() {
    if (text.includes(",")) {
      return yield* problem("names several hosts", "name one host: node-postgres does not fail over between hosts")
    }
    let host = text
    let port: string | undefined
    if (text.startsWith("[")) {
      const close = text.indexOf("]")
      const after = close === -1 ? "" : text.slice(close + 1)
      if (close === -1 || !/^[0-9A-Fa-f:.]+$/.test(text.slice(1, close)) || !(after === "" || after.startsWith(":"))) {
        return yield* problem(
          "has an invalid IPv6 address",
          "write an IPv6 address in brackets, e.g. postgres://user:password@[::1]:5432/database"
        )
      }
      host = text.slice(1, close)
      port = after === "" ? undefined : after.slice(1)
    } else {
      const colon = text.indexOf(":")
      if (colon !== -1) {
        host = text.slice(0, colon)
        port = text.slice(colon + 1)
      }
    }
    const decodedHost = yield* decode(host, "the host")
    return {
      ...(decodedHost === "" ? {} : { host: decodedHost }),
      ...(port === undefined || port === "" ? {} : { port: yield* parsePort(port) })
    }
  })

const parseAuthority = (authority: string): Either.Either<Authority, UrlProblem> => {
  const at = authority.indexOf("@")
  return at === -1
    ? parseHostAndPort(authority)
    : Either.gen(function*() {
      return {
        ...(yield* parseUserinfo(authority.slice(0, at))),
        ...(yield* parseHostAndPort(authority.slice(at + 1)))
      }
    })
}

const parseParameters = (query: string) =>
  Either.gen(function*() {
    const parameters: Partial<Record<SupportedParameter, string>> = {}
    for (const pair of query.split("&")) {
      if (pair === "") continue
      const equals = pair.indexOf("=")
      if (equals === -1) {
        return yield* problem(
          "has a query parameter without a value",
          `write parameters as name=value, joined by &; ${encodeFix}`
        )
      }
      const name = yield* decode(pair.slice(0, equals), "a query parameter")
      const value = yield* decode(pair.slice(equals + 1), "a query parameter")
      if (!isSupported(name)) {
        return yield* problem(
          unsupportedLibpqParameters.has(name)
            ? `has the parameter ${name}, which this program does not support`
            : "has a query parameter that is not a libpq connection parameter",
          `remove it; supported: ${supportedParameters.join(", ")}`
        )
      }
      // The last occurrence wins, as in libpq.
      parameters[name] = value
    }
    return parameters
  })

const parseSslMode = (value: string | undefined): Either.Either<SslMode, UrlProblem> =>
  value === undefined
    ? Either.right("prefer")
    : (sslModes as ReadonlyArray<string>).includes(value)
    ? Either.right(value as SslMode)
    : problem("has an unknown sslmode", `use one of ${sslModes.join(", ")}`)

const parseConnectTimeout = (value: string | undefined): Either.Either<Duration.Duration | undefined, UrlProblem> =>
  value === undefined
    ? Either.right(undefined)
    : /^\d{1,6}$/.test(value) && Number(value) >= 1
    ? Either.right(Duration.seconds(Number(value)))
    : problem(
      "has a connect_timeout that is not a whole number of seconds of at least 1",
      "give seconds, e.g. connect_timeout=10 (every wait is bounded: 0 is not accepted)"
    )

/** Why a string that is not a `postgres://` URL is refused; never quotes it. */
const notAUrl = (text: string): Either.Either<never, UrlProblem> => {
  if (/^jdbc:/i.test(text)) {
    return problem(
      "is a JDBC URL",
      `remove the jdbc: prefix and write libpq's form, ${example} (JDBC's parameters differ)`
    )
  }
  if (/^postgres(?:ql)?:/i.test(text)) return problem("must start with postgres:// (two slashes)")
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) {
    return problem("is not a PostgreSQL URL: the scheme must be postgres or postgresql")
  }
  if (/^\s*\w+\s*=/.test(text)) {
    return problem("is a keyword=value connection string, which is not accepted", `write it as a URL, ${example}`)
  }
  return problem("is not a PostgreSQL URL: it must start with postgres:// or postgresql://")
}

/** Parses a database URL; the problem, if any, says which rule it breaks without quoting it. Never throws. */
export const parse = (text: string): Either.Either<DatabaseUrl, UrlProblem> =>
  Either.gen(function*() {
    if (text === "") return yield* problem("is empty")
    if (/[\s\p{Cc}]/u.test(text)) return yield* problem("contains whitespace or control characters", encodeFix)
    const scheme = /^postgres(?:ql)?:\/\//i.exec(text)
    if (scheme === null) return yield* notAUrl(text)
    const rest = text.slice(scheme[0].length)
    if (rest.includes("#")) return yield* problem("contains a #", encodeFix)
    const question = rest.indexOf("?")
    const beforeQuery = question === -1 ? rest : rest.slice(0, question)
    const slash = beforeQuery.indexOf("/")
    const authority = slash === -1 ? beforeQuery : beforeQuery.slice(0, slash)
    // A password with a raw `@`, `/` or `?` would otherwise spill into the host, port, database or query.
    const ats = rest.split("@").length - 1
    if (ats > 1 || (ats === 1 && !authority.includes("@"))) {
      return yield* problem("has an @ that does not end the user name and password", encodeFix)
    }
    const parts = yield* parseAuthority(authority)
    const path = slash === -1 ? "" : beforeQuery.slice(slash + 1)
    const pathDatabase = yield* decode(path, "the database name")
    const parameters = yield* parseParameters(question === -1 ? "" : rest.slice(question + 1))
    const host = parameters.host !== undefined && parameters.host !== "" ? parameters.host : parts.host
    const port = parameters.port !== undefined ? yield* parsePort(parameters.port) : parts.port ?? 5432
    const database = parameters.dbname ?? (pathDatabase === "" ? undefined : pathDatabase)
    const user = parameters.user ?? parts.user
    // A user name with a colon is almost surely `user:password` with its separator percent-encoded; the
    // server would quote it, password and all, in its error messages.
    if (user?.includes(":") === true) {
      return yield* problem(
        "has a user name with a colon (an encoded %3A?)",
        "separate the user name from the password with a plain : (postgres://user:password@host/database)"
      )
    }
    const password = parameters.password ?? parts.password
    return {
      // node-postgres' default host: libpq would use its default socket directory instead.
      endpoint: host?.startsWith("/")
        ? { _tag: "Socket", directory: host, port }
        : { _tag: "Tcp", host: host ?? "localhost", port },
      database: database === "" ? undefined : database,
      user: user === "" ? undefined : user,
      password: password === undefined || password === "" ? undefined : Redacted.make(password),
      sslMode: yield* parseSslMode(parameters.sslmode),
      sslRootCert: parameters.sslrootcert,
      sslCert: parameters.sslcert,
      sslKey: parameters.sslkey,
      applicationName: parameters.application_name,
      connectTimeout: yield* parseConnectTimeout(parameters.connect_timeout)
    } satisfies DatabaseUrl
  })

/** Host, port and database, for messages: never the user or the password. */
export const describe = (url: DatabaseUrl): string => {
  const database = url.database ?? "(default database)"
  const { endpoint } = url
  return endpoint._tag === "Socket"
    ? `unix socket ${endpoint.directory.replace(/\/$/, "")}/.s.PGSQL.${endpoint.port}, database ${database}`
    : `${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}/${database}`
}

/**
 * The parsed URL, or `InvalidConfiguration` naming `source` (`DATABASE_URL` or `--database-url`),
 * the rule and the fix.
 */
export const decodeUrl = (url: Redacted.Redacted<string>, source: string) =>
  Either.match(parse(Redacted.value(url)), {
    onLeft: ({ fix, rule }) =>
      Effect.fail(new InvalidConfiguration({ variables: [source], rule: `the database URL ${rule}`, fix })),
    onRight: Effect.succeed
  })
