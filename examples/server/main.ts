/**
 *   npx tsx examples/server/main.ts            (PORT=8080, DATABASE_URL or the embedded default)
 *   curl http://127.0.0.1:8080/providers
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer } from "effect"
import * as Database from "../../src/db/Database.js"
import * as ProvidersServer from "./ProvidersServer.js"

const main = Layer.unwrapEffect(
  Effect.map(Config.integer("PORT").pipe(Config.withDefault(8080)), ProvidersServer.layer)
).pipe(Layer.provide(Database.layerFromConfig()))

NodeRuntime.runMain(Layer.launch(main))
