/**
 * Which PostgreSQL the program talks to: an explicit URL wins, else the embedded default.
 * The result is an `@effect/sql-pg` pool, provided as both `PgClient` and `SqlClient`.
 */
import { PgClient } from "@effect/sql-pg"
import { SqlError } from "@effect/sql/SqlError"
import { Config, Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import type { ConnectionOptions } from "node:tls"
import Pg from "pg"
import { InvalidConfiguration } from "../core/Errors.js"
import { DatabaseError, sqlStateOf } from "./DatabaseError.js"
import * as DatabaseUrl from "./DatabaseUrl.js"
import { EmbeddedPostgresError, reasonOf } from "./embedded/Errors.js"

/** Every connection says who it is, so an operator can recognize the seed in `pg_stat_activity`. */
export const applicationName = "ai-provider-seed"

export type DatabaseSelection =
  | { readonly _tag: "Url"; readonly url: Redacted.Redacted<string> }
  /** `configured`: named by AI_PROVIDER_SEED_DATA_DIR (else the default, which root may relocate). */
  | { readonly _tag: "Embedded"; readonly dataDir: string; readonly configured: boolean }

export const defaultEmbeddedDataDir = ".data/postgres"

/** An empty value (a template's unset variable) counts as unset. */
const nonEmpty = <A>(config: Config.Config<A>, isEmpty: (value: A) => boolean) =>
  Config.option(config).pipe(Config.map(Option.filter((value) => !isEmpty(value))))

/** `DATABASE_URL` when set and not empty, else the embedded server in `AI_PROVIDER_SEED_DATA_DIR` (same rule). */
export const selectionFromConfig: Config.Config<DatabaseSelection> = Config.all({
  url: nonEmpty(Config.redacted("DATABASE_URL"), (url) => Redacted.value(url).trim() === ""),
  dataDir: nonEmpty(Config.string("AI_PROVIDER_SEED_DATA_DIR"), (dir) => dir.trim() === "")
}).pipe(Config.map(({ dataDir, url }) =>
  Option.match(url, {
    onNone: (): DatabaseSelection =>
      Option.match(dataDir, {
        onNone: () => ({ _tag: "Embedded", dataDir: defaultEmbeddedDataDir, configured: false }),
        onSome: (dataDir) => ({ _tag: "Embedded", dataDir, configured: true })
      }),
    onSome: (url): DatabaseSelection => ({ _tag: "Url", url })
  })
))

const dataDirVariable = "AI_PROVIDER_SEED_DATA_DIR"

export interface PoolOptions {
  /** Two at least: cancelling a statement that waits on a lock needs a free connection. */
  readonly maxConnections?: number
  /** Default 10 seconds; a URL's `connect_timeout` wins. */
  readonly connectTimeout?: Duration.DurationInput
  /** What an invalid URL is reported as: `DATABASE_URL` (default) or `--database-url`. */
  readonly source?: string
  /**
   * The longest a connection in use may go without a byte from the server (default 2 minutes): past it the
   * connection is destroyed, so a stalled server or a lost network ends the statement (and its transaction)
   * with an error instead of a hang. It must exceed the longest legitimate wait, the lock's.
   */
  readonly silenceLimit?: Duration.DurationInput
}

/**
 * Set by the program, whose process exits when its run ends: closing the pool then sends each connection's
 * Terminate and does not wait for the server to hang up (a round trip, 10 ms to a database 5 ms away).
 * Off by default: a process that goes on (a server, a test) waits, so that no connection outlives the pool.
 */
export class ProcessExitsAfterRun extends Context.Reference<ProcessExitsAfterRun>()(
  "ai-provider-seed/ProcessExitsAfterRun",
  { defaultValue: () => false }
) {}

const closePool = (pool: Pg.Pool) =>
  Effect.flatMap(ProcessExitsAfterRun, (exits) =>
    exits
      ? Effect.sync(() => void pool.end().catch(() => {}))
      : Effect.promise(() => pool.end()).pipe(Effect.timeoutOption(Duration.seconds(1))))

/** The server's own timeouts end a statement first; this is for a server that cannot answer at all. */
export const defaultSilenceLimit = Duration.minutes(2)

/** TCP keepalive finds a dead peer on an idle connection; the silence limit covers a connection in use. */
const keepAliveDelay = Duration.seconds(10)

export class ServerSilent extends Error {
  constructor(limit: Duration.Duration) {
    super(
      `the server sent nothing for ${
        Duration.format(limit)
      } (stopped, or the network is down); the connection was closed`
    )
  }
}

/**
 * While a connection is checked out, it fails once the server has sent nothing for `limit`: its socket is
 * destroyed and the statement in flight fails at once. Checked in, it may idle freely. Our own timer, not
 * the socket's idle timeout: Node defers that one while a write is still pending (a stopped server that no
 * longer reads), which would double the bound.
 */
const guardSilence = (pool: Pg.Pool, limit: Duration.Duration) => {
  const limitMs = Duration.toMillis(limit)
  const socketOf = (client: Pg.PoolClient) => {
    const stream: unknown = client.connection.stream
    return stream instanceof Net.Socket ? stream : undefined
  }
  const watches = new WeakMap<Pg.PoolClient, () => void>()
  pool.on("connect", (client) => socketOf(client)?.setKeepAlive(true, Duration.toMillis(keepAliveDelay)))
  pool.on("acquire", (client) => {
    const socket = socketOf(client)
    if (socket === undefined) return
    let lastReceived = Date.now()
    const received = () => (lastReceived = Date.now())
    const check = () => {
      const silentMs = Date.now() - lastReceived
      if (silentMs >= limitMs) socket.destroy(new ServerSilent(limit))
      else timer = setTimeout(check, limitMs - silentMs).unref()
    }
    let timer = setTimeout(check, limitMs).unref()
    socket.on("data", received)
    watches.set(client, () => {
      clearTimeout(timer)
      socket.off("data", received)
    })
  })
  pool.on("release", (_, client) => {
    watches.get(client)?.()
    watches.delete(client)
  })
}

/** node-postgres' `ssl` option: false for plaintext. */
type Tls = boolean | ConnectionOptions

/**
 * libpq's `sslmode` as node-postgres connections, which cannot fall back on their own: `prefer` (the
 * default) tries TLS without verification and, when the server has no TLS or refuses it, plaintext;
 * `allow` tries plaintext and, when the server refuses it, TLS. `require` encrypts without verifying
 * (verifies the chain like `verify-ca` when `sslrootcert` is given, as libpq does); `verify-ca` checks the
 * chain; `verify-full` the chain and the host name. Without `sslrootcert` the system's authorities are used.
 */
const tlsAttempts = (url: DatabaseUrl.DatabaseUrl, files: ConnectionOptions): readonly [Tls, ...Array<Tls>] => {
  const unverified: Tls = { ...files, rejectUnauthorized: false }
  const chainOnly: Tls = { ...files, checkServerIdentity: () => undefined }
  switch (url.sslMode) {
    case "disable":
      return [false]
    case "allow":
      return [false, unverified]
    case "prefer":
      return [unverified, false]
    case "require":
      return [url.sslRootCert === undefined ? unverified : chainOnly]
    case "verify-ca":
      return [chainOnly]
    case "verify-full":
      return [files]
  }
}

const errorCode = (error: unknown) =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : "unreadable"

/** The certificate files the URL names, read now so that a missing one is a configuration error. */
const tlsFiles = (url: DatabaseUrl.DatabaseUrl, source: string) =>
  Effect.forEach(
    [["ca", "sslrootcert", url.sslRootCert], ["cert", "sslcert", url.sslCert], ["key", "sslkey", url.sslKey]] as const,
    ([option, parameter, path]) =>
      path === undefined || (option === "ca" && path === "system") ? Effect.succeed({}) : Effect.tryPromise({
        try: () => Fs.readFile(path, "utf8"),
        catch: (error) =>
          new InvalidConfiguration({
            variables: [source],
            rule: `the database URL's ${parameter} names a file that cannot be read (${errorCode(error)})`,
            fix: `give ${parameter} the path of a readable PEM file`
          })
      }).pipe(Effect.map((content) => ({ [option]: content })))
  ).pipe(Effect.map((parts): ConnectionOptions => Object.assign({}, ...parts)))

/**
 * The next attempt is worth making only when the server answered and refused this kind of connection
 * (no TLS, or pg_hba.conf rejected it: SQLSTATE class 28), not when it was unreachable.
 */
const refusedByServer = (error: SqlError) =>
  (error.cause instanceof Error && error.cause.message === "The server does not support SSL connections") ||
  (sqlStateOf(error).sqlState?.startsWith("28") ?? false)

/**
 * The pool for a database URL, connected from its parsed form: the driver never sees the URL, so no
 * driver message or warning can quote it. An invalid URL is `InvalidConfiguration` (exit 2).
 */
export const pool = (url: Redacted.Redacted<string>, options: PoolOptions = {}) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const source = options.source ?? "DATABASE_URL"
    const parsed = yield* DatabaseUrl.decodeUrl(url, source)
    const files = yield* tlsFiles(parsed, source)
    const { endpoint } = parsed
    const silenceLimit = Duration.decode(options.silenceLimit ?? defaultSilenceLimit)
    const connectTimeout = Duration.decode(parsed.connectTimeout ?? options.connectTimeout ?? Duration.seconds(10))
    // Our own pool: the guard needs its events, and connecting once (instead of @effect/sql-pg's `SELECT 1`)
    // proves the server answers without a round trip the run does not need.
    const client = (ssl: Tls) =>
      PgClient.layerFromPool({
        acquire: Effect.acquireRelease(
          Effect.tryPromise({
            try: async () => {
              const pool = new Pg.Pool({
                // node-postgres takes a socket directory as the host.
                host: endpoint._tag === "Tcp" ? endpoint.host : endpoint.directory,
                port: endpoint.port,
                ...(parsed.database === undefined ? {} : { database: parsed.database }),
                ...(parsed.user === undefined ? {} : { user: parsed.user }),
                ...(parsed.password === undefined ? {} : { password: Redacted.value(parsed.password) }),
                ssl,
                application_name: parsed.applicationName ?? applicationName,
                max: Math.max(2, options.maxConnections ?? 4),
                connectionTimeoutMillis: Duration.toMillis(connectTimeout)
              })
              pool.on("error", () => {})
              guardSilence(pool, silenceLimit)
              try {
                ;(await pool.connect()).release()
                return pool
              } catch (cause) {
                await pool.end()
                throw cause
              }
            },
            catch: (cause) => new SqlError({ cause, message: "Failed to connect" })
          }),
          closePool
        ),
        applicationName: parsed.applicationName ?? applicationName
      })
    const [first, ...fallbacks] = tlsAttempts(parsed, files)
    return fallbacks.reduce(
      (layer, ssl) => Layer.catchAll(layer, (error) => refusedByServer(error) ? client(ssl) : Layer.fail(error)),
      client(first)
    ).pipe(Layer.mapError(DatabaseError.fromSqlError(`connect to ${DatabaseUrl.describe(parsed)}`)))
  }))

/**
 * The embedded server for a selection, and the pool on it; its modules are loaded only here, so a run
 * against a URL does not evaluate them. A data directory that cannot be used as it is, is the
 * configuration's problem (exit 2), not the server's.
 */
const embedded = (selection: Extract<DatabaseSelection, { _tag: "Embedded" }>, options: PoolOptions) =>
  Layer.unwrapEffect(Effect.map(
    Effect.tryPromise({
      try: () => import("./EmbeddedPostgres.js"),
      catch: (error) =>
        new EmbeddedPostgresError({
          step: "start",
          dataDir: selection.dataDir,
          reason: `the embedded server's module could not be loaded (${reasonOf(error)})`,
          fix: "reinstall ai-provider-seed"
        })
    }),
    ({ EmbeddedPostgres }) => {
      const server = EmbeddedPostgres.layer({
        mode: "persistent",
        dataDir: selection.dataDir,
        relocatable: !selection.configured
      }).pipe(Layer.mapError((error) =>
        error._tag === "EmbeddedPostgresError" ? error : new InvalidConfiguration({
          variables: [dataDirVariable],
          rule: `${
            selection.configured ? "the directory it names" : `the default, ${defaultEmbeddedDataDir}`
          } (${error.dataDir}) cannot be used: ${error.reason}`,
          fix: error.fix
        })
      ))
      return Layer.unwrapEffect(Effect.map(EmbeddedPostgres, (running) => pool(running.url, options))).pipe(
        Layer.provide(server)
      )
    }
  ))

/** The pool for a selection; for the embedded default, the server lives as long as the layer. */
export const layer = (selection: DatabaseSelection, options: PoolOptions = {}) =>
  selection._tag === "Url" ? pool(selection.url, options) : embedded(selection, options)

export const layerFromConfig = (options: PoolOptions = {}) =>
  Layer.unwrapEffect(Effect.map(selectionFromConfig, (selection) => layer(selection, options)))
