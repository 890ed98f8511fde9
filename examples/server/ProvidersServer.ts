/**
 * An example Effect server that composes the seed: its HTTP layer depends on `Seeded`, so it starts
 * listening only after a successful seed, and never after a failed one. It serves the live providers
 * through the runtime reader and the masked view.
 */
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"
import { maskProvider } from "../../src/core/MaskedProvider.js"
import { ProviderReader } from "../../src/db/ProviderReader.js"
import * as SeedLayer from "../../src/seed/SeedLayer.js"
import { SeedReport } from "../../src/seed/SeedReport.js"

const router = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/providers",
    Effect.flatMap(ProviderReader, (reader) => reader.live()).pipe(
      Effect.flatMap((providers) =>
        HttpServerResponse.json({
          providers: providers.map((provider) => ({ ...maskProvider(provider), enabled: provider.enabled }))
        })
      )
    )
  ),
  HttpRouter.get(
    "/seed",
    Effect.flatMap(SeedLayer.Seeded, (report) => HttpServerResponse.json(Schema.encodeSync(SeedReport)(report)))
  )
)

/**
 * The server on `port` (0 for any free one). Requires the SQL client; reads providers from Config.
 * `provideMerge` builds its argument first: the seed (and reader), then the listening socket.
 */
export const layer = (port: number) =>
  HttpServer.serve(router).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })),
    Layer.provideMerge(SeedLayer.layer())
  )
