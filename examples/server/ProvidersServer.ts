/**
 * An example Effect server that composes the seed: its HTTP layer depends on `Seeded`, so it starts
 * listening only after a successful seed, and never after a failed one. It serves the live providers,
 * secrets masked, through the runtime reader.
 */
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Redacted } from "effect"
import { createServer } from "node:http"
import { mask } from "../../src/core/Mask.js"
import { type LiveProvider, ProviderReader } from "../../src/db/ProviderReader.js"
import * as SeedLayer from "../../src/seed/SeedLayer.js"

const maskSecret = (secret: Redacted.Redacted<string>) => mask(Redacted.value(secret))

const masked = (provider: LiveProvider) => ({
  name: provider.name,
  type: provider.type,
  enabled: provider.enabled,
  base_url: provider.baseUrl,
  keys: provider.keys.map(maskSecret),
  bedrock: provider.bedrock === null ? null : {
    ...provider.bedrock,
    access_key: maskSecret(provider.bedrock.access_key),
    access_key_secret: maskSecret(provider.bedrock.access_key_secret)
  }
})

const router = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/providers",
    Effect.flatMap(ProviderReader, (reader) => reader.live()).pipe(
      Effect.flatMap((providers) => HttpServerResponse.json({ providers: providers.map(masked) }))
    )
  ),
  HttpRouter.get("/seed", Effect.flatMap(SeedLayer.Seeded, (report) => HttpServerResponse.json(report)))
)

/**
 * The server on `port` (0 for any free one). Requires the SQL client; reads providers from Config.
 * `provideMerge` builds its argument first: the seed, then the reader, then the listening socket.
 */
export const layer = (port: number) =>
  HttpServer.serve(router).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })),
    Layer.provide(SeedLayer.readerLayer),
    Layer.provideMerge(SeedLayer.layer())
  )
