/**
 * An OTLP/HTTP receiver in the test process: it records every request (raw body included, for secret
 * scans) and answers 200, another status, or never. Closed with its scope, hanging connections too.
 */
import { Effect, type Scope } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

export type ReceiverMode = { readonly _tag: "Answer"; readonly status: number } | { readonly _tag: "Hang" }

export const answer = (status = 200): ReceiverMode => ({ _tag: "Answer", status })
export const hang: ReceiverMode = { _tag: "Hang" }

export interface ReceivedRequest {
  readonly method: string
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Buffer
}

export interface Receiver {
  /** `http://127.0.0.1:<port>`, the base for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string
  readonly requests: ReadonlyArray<ReceivedRequest>
  /** Waits until `count` requests have arrived; the caller bounds the wait. */
  readonly received: (count: number) => Effect.Effect<void>
}

const listen = (server: Http.Server) =>
  Effect.async<number>((resume) => {
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
  })

const close = (server: Http.Server) =>
  Effect.async<void>((resume) => {
    server.closeAllConnections()
    server.close(() => resume(Effect.void))
  })

export const receiver = (mode: ReceiverMode): Effect.Effect<Receiver, never, Scope.Scope> =>
  Effect.gen(function*() {
    const requests: Array<ReceivedRequest> = []
    const waiters = new Set<() => void>()
    const server = Http.createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        requests.push({
          method: request.method ?? "",
          path: request.url ?? "",
          headers: request.headers,
          body: Buffer.concat(chunks)
        })
        for (const wake of waiters) wake()
        if (mode._tag === "Answer") {
          response.writeHead(mode.status, { "content-type": "application/json" })
          response.end("{}")
        }
      })
    })
    const port = yield* Effect.acquireRelease(listen(server), () => close(server))
    const received = (count: number) =>
      Effect.async<void>((resume) => {
        const wake = () => {
          if (requests.length < count) return
          waiters.delete(wake)
          resume(Effect.void)
        }
        waiters.add(wake)
        wake()
        return Effect.sync(() => waiters.delete(wake))
      })
    return { url: `http://127.0.0.1:${port}`, requests, received }
  })

/** A loopback URL where nothing listens: a port that was free a moment ago. */
export const closedPortUrl = Effect.gen(function*() {
  const server = Http.createServer()
  const port = yield* listen(server)
  yield* close(server)
  return `http://127.0.0.1:${port}`
})
