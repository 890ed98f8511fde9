/**
 * A server as its author would write it: its own PostgreSQL client, the seed composed in, the live
 * providers served through the masked view. The consumer test installs ai-provider-seed from the packed
 * tarball next to it, so this file sees only what the package exports.
 */
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { maskProvider, ProviderReader, SeedLayer } from "ai-provider-seed"
import { Config, Effect, Layer } from "effect"
import { createServer } from "node:http"

const router = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/providers",
    Effect.flatMap(ProviderReader, (reader) => reader.live()).pipe(
      Effect.flatMap((providers) => HttpServerResponse.json({ providers: providers.map(maskProvider) }))
    )
  )
)

const Database = PgClient.layerConfig({ url: Config.redacted("DATABASE_URL") })

// The seed runs while its layer is built, so the socket opens only after a successful seed.
const Server = HttpServer.serve(router).pipe(
  HttpServer.withLogAddress,
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(SeedLayer.layer()),
  Layer.provide(Database)
)

NodeRuntime.runMain(Layer.launch(Server))
