/**
 * A server as its author would write it: its own PostgreSQL client, the seed composed in, the live
 * providers served with keys masked. The consumer test installs ai-provider-seed from the packed
 * tarball next to it, so this file sees only what the package exports.
 */
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { type LiveProvider, mask, ProviderReader, SeedLayer } from "ai-provider-seed"
import { Config, Effect, Layer, Redacted } from "effect"
import { createServer } from "node:http"

const masked = (provider: LiveProvider) => ({
  name: provider.name,
  type: provider.type,
  keys: provider.keys.map((key) => mask(Redacted.value(key)))
})

const router = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/providers",
    Effect.flatMap(ProviderReader, (reader) => reader.live()).pipe(
      Effect.flatMap((providers) => HttpServerResponse.json({ providers: providers.map(masked) }))
    )
  )
)

const Database = PgClient.layerConfig({ url: Config.redacted("DATABASE_URL") })

// The seed runs while its layer is built, so the socket opens only after a successful seed.
const Server = HttpServer.serve(router).pipe(
  HttpServer.withLogAddress,
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provide(SeedLayer.readerLayer),
  Layer.provideMerge(SeedLayer.layer()),
  Layer.provide(Database)
)

NodeRuntime.runMain(Layer.launch(Server))
