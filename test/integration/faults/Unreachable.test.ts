/**
 * A database that accepts TCP connections but never answers (a hung server, a black-holed proxy): the
 * seed exits 6 within the connect timeout, naming host and port and never the password. (A refused
 * port is in test/integration/cli/SeedCommand.test.ts.)
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Net from "node:net"
import { runProgram } from "../../support/Program.js"
import { expectNoSecrets } from "../../support/Seeding.js"

/** The pool's connect timeout (src/db/Database.ts), plus process start and teardown on a busy machine. */
const connectTimeoutMs = 10_000
const slackMs = 15_000

const silentServer = Effect.acquireRelease(
  Effect.async<{ readonly server: Net.Server; readonly sockets: Set<Net.Socket>; readonly port: number }>((resume) => {
    const sockets = new Set<Net.Socket>()
    const server = Net.createServer((socket) => {
      sockets.add(socket)
      socket.on("error", () => {})
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({ server, sockets, port }))
    })
  }),
  // `close` waits for open connections: end them first.
  ({ server, sockets }) =>
    Effect.async<void>((resume) => {
      sockets.forEach((socket) => socket.destroy())
      server.close(() => resume(Effect.void))
    })
)

it.live(
  "a server that never answers: exit 6 within the connect timeout, host and port named, no password",
  () =>
    Effect.gen(function*() {
      const { port } = yield* silentServer
      const password = "canary-db-password-7777"
      const key = "sk-canary-unreachable-0123456789abcdef"
      const started = Date.now()
      const result = yield* Effect.promise(() =>
        runProgram(["seed", "--format", "json"], {
          DATABASE_URL: `postgres://seed:${password}@127.0.0.1:${port}/providers`,
          CODER_AIBRIDGE_OPENAI_KEY: key
        })
      )
      const elapsed = Date.now() - started
      expect(result.code, result.stderr).toBe(6)
      expect(elapsed).toBeLessThan(connectTimeoutMs + slackMs)
      expect(result.stderr).toContain(`127.0.0.1:${port}`)
      expect(JSON.parse(result.stdout).error._tag).toBe("DatabaseError")
      expectNoSecrets([result.stdout, result.stderr], [password, key])
    }).pipe(Effect.scoped),
  { timeout: 60_000 }
)
