/**
 * A measuring TCP proxy in front of PostgreSQL, for the bench: it counts the statements a client sends,
 * as the server receives them, and can add a fixed delay each way (a database in another zone).
 *
 * Counting, from the frontend protocol (PostgreSQL 3.0):
 * - a simple Query (`Q`) is one statement: `BEGIN`, `COMMIT`, `ROLLBACK` and `SAVEPOINT` sent by a
 *   driver or by `@effect/sql` are simple queries and count like any other (they are round trips; the
 *   summary also gives them apart as `transactionControl`). A `Q` holding several `;`-separated
 *   statements counts each of them (one message, one round trip: the program begins its seed
 *   transactions with BEGIN, their settings and the lock in one message, three statements).
 * - the extended protocol counts each `Execute` (`E`) once: node-postgres sends Parse/Bind/Describe/
 *   Execute/Sync together for a query with parameters, and a reused prepared statement is Bind/Execute
 *   only. A Parse alone (no Execute) is not a statement.
 * - `roundTrips` counts the server's `ReadyForQuery` (`Z`) messages that answer something the client sent
 *   after the one before (one per simple query and per Sync, one at the end of the startup): messages that
 *   a client writes before the answer to the first (pipelined) share one round trip.
 *
 * The delay holds every chunk `delayMs` in each direction, in order, so one round trip costs
 * 2 x `delayMs` more; the first client bytes also wait one extra round trip, which stands for the TCP
 * handshake that a loopback connection to the proxy does not pay.
 *
 * Bounded: the upstream connect times out, at most `maxConnections` clients at once (more are refused),
 * a direction with more than `maxQueuedBytes` in flight pauses its reader; `close` ends every socket
 * and timer and resolves when the listener is closed.
 */
import { Data, Effect } from "effect"
import * as Net from "node:net"
import { statementsOf } from "../scripts/SqlStatements.js"

export class WireProxyError extends Data.TaggedError("WireProxyError")<{
  readonly step: "listen" | "close"
  readonly reason: string
}> {
  override get message() {
    return `Wire proxy failed to ${this.step}: ${this.reason}`
  }
}

export interface WireProxyOptions {
  /** The PostgreSQL server to forward to. */
  readonly target: { readonly host: string; readonly port: number }
  /** Added to every chunk in each direction (default 0). */
  readonly delayMs?: number
  readonly maxConnections?: number
  readonly connectTimeoutMs?: number
  readonly maxQueuedBytes?: number
}

export interface WireStatement {
  /** Milliseconds since the proxy started, when the statement's message reached the proxy. */
  readonly atMs: number
  readonly connection: number
  readonly protocol: "simple" | "extended"
  /** The statement's text, cut at 200 characters (the bench's statements carry no secrets as text). */
  readonly text: string
}

export interface WireConnection {
  readonly id: number
  readonly openedAtMs: number
  closedAtMs: number | undefined
  roundTrips: number
  bytesFromClient: number
  bytesFromServer: number
}

export interface WireSummary {
  readonly connections: number
  readonly statements: number
  readonly transactionControl: number
  readonly roundTrips: number
  readonly texts: ReadonlyArray<string>
}

export interface WireProxy {
  readonly port: number
  /** `performance.now()` when the proxy started: the origin of every `...Ms` time it records. */
  readonly origin: number
  /** `url` with its host and port replaced by the proxy's. */
  readonly via: (url: string) => string
  readonly statements: ReadonlyArray<WireStatement>
  readonly connections: ReadonlyArray<WireConnection>
  /** Forgets what was counted so far (between measured runs). */
  readonly reset: () => void
  readonly summary: () => WireSummary
}

const textLimit = 200
const sslRequest = 80877103
const gssRequest = 80877104
// Message types: simple Query, Parse, Bind, Execute (frontend); ReadyForQuery (backend).
const Q = 0x51
const P = 0x50
const B = 0x42
const E = 0x45
const Z = 0x5a
const transactionControl = /^\s*(begin|start transaction|commit|end|rollback|savepoint|release)\b/i

/**
 * Splits one direction of the protocol into messages without buffering their bodies: only the first
 * `keep` bytes of a body are kept, and only for the message types that `wanted` names.
 */
class MessageReader {
  private header = Buffer.alloc(0)
  private remaining = 0
  private type = 0
  private body: Array<Buffer> = []
  private kept = 0

  constructor(
    /** The startup packet (frontend) or the SSL answer (backend) has no type byte. */
    private untyped: "startup" | "ssl-answer" | "none",
    private readonly wanted: (type: number) => boolean,
    private readonly onMessage: (type: number, head: Buffer) => void
  ) {}

  /** The frontend asked for SSL: the backend's next byte is a bare 'S' or 'N'. */
  expectSslAnswer() {
    this.untyped = "ssl-answer"
  }

  push(chunk: Buffer) {
    let at = 0
    while (at < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at)
        if (this.wanted(this.type) && this.kept < textLimit * 4) {
          this.body.push(chunk.subarray(at, at + take))
          this.kept += take
        }
        at += take
        this.remaining -= take
        if (this.remaining === 0) this.finish()
        continue
      }
      if (this.untyped === "ssl-answer") {
        this.untyped = "none"
        at += 1
        continue
      }
      const headerLength = this.untyped === "startup" ? 4 : 5
      const take = Math.min(headerLength - this.header.length, chunk.length - at)
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + take)])
      at += take
      if (this.header.length < headerLength) continue
      this.type = this.untyped === "startup" ? 0 : this.header[0]!
      const length = this.header.readInt32BE(headerLength - 4)
      this.header = Buffer.alloc(0)
      this.remaining = length - 4
      if (this.remaining === 0) this.finish()
    }
  }

  private finish() {
    const head = Buffer.concat(this.body)
    this.body = []
    this.kept = 0
    if (this.untyped === "startup") {
      // SSLRequest (80877103) and GSSENCRequest (80877104) are answered with one bare byte, then the
      // client sends its startup packet again; anything else is the startup packet itself.
      const code = head.length >= 4 ? head.readInt32BE(0) : 0
      if (code !== sslRequest && code !== gssRequest) this.untyped = "none"
      this.onMessage(code, head)
      return
    }
    this.onMessage(this.type, head)
  }
}

const cString = (buffer: Buffer, from: number) => {
  const end = buffer.indexOf(0, from)
  return end === -1 ? { value: buffer.toString("utf8", from), next: buffer.length } : {
    value: buffer.toString("utf8", from, end),
    next: end + 1
  }
}

/** A delayed, ordered, bounded forwarding of one direction. */
const forward = (
  from: Net.Socket,
  to: Net.Socket,
  delayMs: () => number,
  maxQueuedBytes: number,
  later: (run: () => void, delay: number) => void,
  observe: (chunk: Buffer) => void
) => {
  let queued = 0
  const write = (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause()
  }
  from.on("data", (chunk: Buffer) => {
    observe(chunk)
    const delay = delayMs()
    if (delay <= 0) return write(chunk)
    queued += chunk.length
    if (queued > maxQueuedBytes) from.pause()
    later(() => {
      queued -= chunk.length
      write(chunk)
    }, delay)
  })
  to.on("drain", () => {
    if (queued <= maxQueuedBytes) from.resume()
  })
  // The peer's end and close follow the data still in flight.
  from.on("end", () => later(() => to.end(), delayMs()))
  from.on("close", () => later(() => to.destroy(), delayMs()))
  from.on("error", () => to.destroy())
}

interface State {
  readonly started: number
  readonly statements: Array<WireStatement>
  readonly connections: Array<WireConnection>
  readonly sockets: Set<Net.Socket>
  readonly timers: Set<NodeJS.Timeout>
}

/** One client: its upstream connection, both directions forwarded and the frontend's statements counted. */
const serve = (options: WireProxyOptions, state: State, id: number) => (client: Net.Socket) => {
  const now = () => performance.now() - state.started
  const open = state.connections.filter((connection) => connection.closedAtMs === undefined).length
  if (open >= (options.maxConnections ?? 64)) {
    client.destroy()
    return
  }
  const delayMs = options.delayMs ?? 0
  const maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024
  const connection: WireConnection = {
    id,
    openedAtMs: now(),
    closedAtMs: undefined,
    roundTrips: 0,
    bytesFromClient: 0,
    bytesFromServer: 0
  }
  state.connections.push(connection)
  const upstream = Net.connect({ host: options.target.host, port: options.target.port })
  for (const socket of [client, upstream]) {
    socket.setNoDelay(true)
    state.sockets.add(socket)
    socket.once("close", () => {
      state.sockets.delete(socket)
      connection.closedAtMs ??= now()
    })
  }
  upstream.setTimeout(options.connectTimeoutMs ?? 10_000, () => upstream.destroy(new Error("connect timeout")))
  upstream.once("connect", () => upstream.setTimeout(0))
  const later = (run: () => void, delay: number) => {
    if (delay <= 0) return run()
    const timer = setTimeout(() => {
      state.timers.delete(timer)
      run()
    }, delay)
    state.timers.add(timer)
  }

  const prepared = new Map<string, string>()
  const portals = new Map<string, string>()
  const record = (protocol: WireStatement["protocol"], text: string) =>
    state.statements.push({ atMs: now(), connection: id, protocol, text: text.slice(0, textLimit) })
  let clientSentSinceAnswer = false
  const backend = new MessageReader("none", () => false, (type) => {
    if (type === Z && clientSentSinceAnswer) {
      connection.roundTrips++
      clientSentSinceAnswer = false
    }
  })
  const frontend = new MessageReader(
    "startup",
    (type) => type === Q || type === P || type === B || type === E,
    (type, head) => {
      if (type === sslRequest || type === gssRequest) backend.expectSslAnswer()
      else if (type === Q) { for (const statement of statementsOf(cString(head, 0).value)) record("simple", statement) }
      else if (type === P) {
        const name = cString(head, 0)
        prepared.set(name.value, cString(head, name.next).value)
      } else if (type === B) {
        const portal = cString(head, 0)
        portals.set(portal.value, cString(head, portal.next).value)
      } else if (type === E) {
        record("extended", prepared.get(portals.get(cString(head, 0).value) ?? "") ?? "(unknown statement)")
      }
    }
  )
  // The first client bytes wait one more round trip: the TCP handshake to a distant server.
  let first = true
  const clientDelay = () => {
    const delay = first ? 3 * delayMs : delayMs
    first = false
    return delay
  }
  forward(client, upstream, clientDelay, maxQueuedBytes, later, (chunk) => {
    connection.bytesFromClient += chunk.length
    clientSentSinceAnswer = true
    frontend.push(chunk)
  })
  forward(upstream, client, () => delayMs, maxQueuedBytes, later, (chunk) => {
    connection.bytesFromServer += chunk.length
    backend.push(chunk)
  })
}

const listen = (server: Net.Server) =>
  Effect.async<number, WireProxyError>((resume) => {
    server.once("error", (error) => resume(Effect.fail(new WireProxyError({ step: "listen", reason: error.message }))))
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

const shutdown = (server: Net.Server, state: State) =>
  Effect.async<void>((resume) => {
    for (const timer of state.timers) clearTimeout(timer)
    state.timers.clear()
    for (const socket of state.sockets) socket.destroy()
    state.sockets.clear()
    server.close(() => resume(Effect.void))
  }).pipe(
    Effect.timeoutFail({
      duration: "5 seconds",
      onTimeout: () => new WireProxyError({ step: "close", reason: "the listener did not close within 5 s" })
    }),
    Effect.orDie
  )

/** The proxy as a scoped resource: listening when acquired, every socket and timer gone when the scope ends. */
export const make = (options: WireProxyOptions) =>
  Effect.gen(function*() {
    const state: State = {
      started: performance.now(),
      statements: [],
      connections: [],
      sockets: new Set(),
      timers: new Set()
    }
    let nextId = 1
    const server = Net.createServer((client) => serve(options, state, nextId++)(client))
    const port = yield* Effect.acquireRelease(listen(server), () => shutdown(server, state))
    return {
      port,
      origin: state.started,
      via: (url) => {
        const parsed = new URL(url)
        parsed.hostname = "127.0.0.1"
        parsed.port = String(port)
        return parsed.toString()
      },
      statements: state.statements,
      connections: state.connections,
      reset: () => {
        state.statements.length = 0
        state.connections.length = 0
      },
      summary: () => ({
        connections: state.connections.length,
        statements: state.statements.length,
        transactionControl: state.statements.filter((statement) => transactionControl.test(statement.text)).length,
        roundTrips: state.connections.reduce((sum, connection) => sum + connection.roundTrips, 0),
        texts: state.statements.map((statement) => statement.text.replace(/\s+/g, " ").trim())
      })
    } satisfies WireProxy
  })
