import { HttpServer } from "@effect/platform"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as Net from "node:net"
import * as ProvidersServer from "../../../examples/server/ProvidersServer.js"
import { resetDatabase, runSeed } from "../../support/Seeding.js"
import * as TestDatabase from "../../support/TestDatabase.js"
import { encryptionEnvironment } from "../../support/TestEncryption.js"

const openaiKey = "sk-example-server-canary-123456789"

/** The server's environment, with the run's encryption keys as every other way a test runs the program. */
const withEnvironment = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ ...encryptionEnvironment, ...env }))))

const freePort = Effect.async<number>((resume) => {
  const server = Net.createServer().listen(0, "127.0.0.1", () => {
    const address = server.address() as Net.AddressInfo
    server.close(() => resume(Effect.succeed(address.port)))
  })
})

const accepts = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => (socket.destroy(), resume(Effect.succeed(true))))
    socket.once("error", () => resume(Effect.succeed(false)))
  })

layer(TestDatabase.layer(), { excludeTestServices: true })("example server", (it) => {
  it.effect("starts after the seed on a free port and serves the live providers, masked", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const context = yield* Layer.build(ProvidersServer.layer(0))
      const server = HttpServer.HttpServer.pipe(Effect.provide(context))
      const address = (yield* server).address
      if (address._tag !== "TcpAddress") return expect.fail("expected a TCP address")
      const response = yield* Effect.promise(() => fetch(`http://127.0.0.1:${address.port}/providers`))
      const body = yield* Effect.promise(() => response.text())
      expect(response.status).toBe(200)
      expect(JSON.parse(body)).toEqual({
        providers: [{
          name: "openai",
          type: "openai",
          enabled: true,
          base_url: "https://api.openai.com/v1/",
          keys: ["sk-e...6789"],
          bedrock: null
        }]
      })
      expect(body).not.toContain(openaiKey)
    }).pipe(withEnvironment({ CODER_AIBRIDGE_OPENAI_KEY: openaiKey }), Effect.scoped))

  it.effect("never starts listening after a failed seed", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      yield* runSeed({ CODER_AIBRIDGE_OPENAI_KEY: openaiKey })
      const port = yield* freePort
      const error = yield* Effect.flip(
        Layer.build(ProvidersServer.layer(port)).pipe(
          withEnvironment({
            CODER_AIBRIDGE_OPENAI_KEY: openaiKey,
            CODER_AIBRIDGE_OPENAI_BASE_URL: "https://changed.test/"
          }),
          Effect.scoped
        )
      )
      expect(error._tag).toBe("HashConflict")
      expect(yield* accepts(port)).toBe(false)
    }))
})
