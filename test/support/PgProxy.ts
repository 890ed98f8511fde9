/**
 * A front for the test server that speaks the start of PostgreSQL's protocol, to reach the real server
 * the ways a URL can name it: over IPv6, over a Unix socket, and over TLS. Like a server with `ssl = on`
 * it answers an SSLRequest with `S` and terminates TLS (or with `N` without a certificate); with
 * `tlsOnly`, like a `hostssl`-only pg_hba.conf, it refuses a plaintext startup with SQLSTATE 28000.
 * Everything after the start is piped to the real server unchanged.
 */
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tls from "node:tls"

export interface Certificate {
  readonly key: string
  readonly cert: string
  /** The certificate's file, for `sslrootcert` (it is self-signed: its own authority). */
  readonly certFile: string
}

/** A self-signed certificate for `IP:127.0.0.1` only, made with openssl in a temporary directory. */
export const selfSignedCertificate = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "pg-proxy-tls-"))
    const [keyFile, certFile] = [Path.join(dir, "key.pem"), Path.join(dir, "cert.pem")]
    await new Promise<void>((resolve, reject) =>
      execFile(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          keyFile,
          "-out",
          certFile,
          "-days",
          "2",
          "-subj",
          "/CN=ai-provider-seed test",
          "-addext",
          "subjectAltName=IP:127.0.0.1"
        ],
        { timeout: 30_000 },
        (error) => error ? reject(error) : resolve()
      )
    )
    return { dir, key: await Fs.readFile(keyFile, "utf8"), cert: await Fs.readFile(certFile, "utf8"), certFile }
  }),
  ({ dir }) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

export type Listen = { readonly host: string } | { readonly path: string }

export interface ProxyOptions {
  readonly listen: Listen
  readonly upstream: { readonly host: string; readonly port: number }
  readonly tls?: Certificate
  readonly tlsOnly?: boolean
}

const sslRequestCode = 80877103
const gssRequestCode = 80877104

/** An ErrorResponse the way the server sends one when pg_hba.conf has no entry for a plaintext connection. */
const noPlaintextEntry = () => {
  const field = (code: string, text: string) => Buffer.concat([Buffer.from(code), Buffer.from(`${text}\0`)])
  const body = Buffer.concat([
    field("S", "FATAL"),
    field("V", "FATAL"),
    field("C", "28000"),
    field("M", "no pg_hba.conf entry for this connection, no encryption"),
    Buffer.from([0])
  ])
  const length = Buffer.alloc(4)
  length.writeInt32BE(body.length + 4)
  return Buffer.concat([Buffer.from("E"), length, body])
}

/** Pipes both ways; either side ending or failing closes the other. */
const splice = (client: Net.Socket, upstream: Net.Socket) => {
  client.pipe(upstream).pipe(client)
  const close = () => {
    client.destroy()
    upstream.destroy()
  }
  client.once("error", close).once("close", close)
  upstream.once("error", close).once("close", close)
}

/** How many connections the proxy took in each way, to tell which one a client chose. */
export interface ProxyCounts {
  tls: number
  plaintext: number
  refused: number
}

const handle = (options: ProxyOptions, sockets: Set<Net.Socket>, counts: ProxyCounts) => (socket: Net.Socket) => {
  sockets.add(socket)
  socket.once("close", () => sockets.delete(socket))
  socket.once("error", () => socket.destroy())
  let buffered = Buffer.alloc(0)
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    if (buffered.length < 8) return
    const code = buffered.readInt32BE(4)
    if (code === sslRequestCode || code === gssRequestCode) {
      socket.off("data", onData)
      socket.pause()
      if (code === sslRequestCode && options.tls !== undefined) {
        counts.tls++
        socket.write("S")
        const secure = new Tls.TLSSocket(socket, { isServer: true, key: options.tls.key, cert: options.tls.cert })
        secure.once("error", () => socket.destroy())
        sockets.add(secure)
        splice(secure, Net.connect(options.upstream))
      } else {
        // No encryption offered: the client goes on with a plaintext startup on this socket.
        buffered = Buffer.alloc(0)
        socket.write("N")
        socket.on("data", onData)
        socket.resume()
      }
      return
    }
    socket.off("data", onData)
    if (options.tlsOnly === true) {
      counts.refused++
      socket.end(noPlaintextEntry())
      return
    }
    counts.plaintext++
    const upstream = Net.connect(options.upstream)
    upstream.write(buffered)
    splice(socket, upstream)
  }
  socket.on("data", onData)
}

/** Listens until the scope closes; gives the port (0 on a Unix socket) and live counts of connections. */
export const pgProxy = (options: ProxyOptions) => {
  const counts: ProxyCounts = { tls: 0, plaintext: 0, refused: 0 }
  return Effect.acquireRelease(
    Effect.async<{ readonly server: Net.Server; readonly port: number; readonly sockets: Set<Net.Socket> }, Error>(
      (resume) => {
        const sockets = new Set<Net.Socket>()
        const server = Net.createServer(handle(options, sockets, counts))
        server.once("error", (error) => resume(Effect.fail(error)))
        const ready = () => {
          const address = server.address()
          resume(
            Effect.succeed({
              server,
              sockets,
              port: typeof address === "object" && address !== null ? address.port : 0
            })
          )
        }
        if ("path" in options.listen) server.listen(options.listen.path, ready)
        else server.listen(0, options.listen.host, ready)
      }
    ),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ port }) => ({ port, counts })), Effect.orDie)
}
