/**
 * A V8 startup snapshot of the program, for bench/startup.ts (measured, not shipped: see PROFILE.md).
 * Built with `node --snapshot-blob snap.blob --build-snapshot snapshot-entry.cjs` from this file's
 * bundle; run as `node --snapshot-blob snap.blob seed ...`.
 *
 * The snapshot holds the whole module graph, evaluated; src/bin.ts's own body (which reads argv and the
 * environment and starts the run) is evaluated only in the deserialized process.
 */
import "../scripts/build-pg-probe.js"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as V8 from "node:v8"
import * as Cli from "../src/cli/Cli.js"
import * as IndexedConfigProvider from "../src/env/IndexedConfigProvider.js"

// The modules are handed to the main function so that the bundle keeps (and the snapshot evaluates) them.
V8.startupSnapshot.setDeserializeMainFunction(() => {
  // Started from a blob, argv has no script: @effect/cli expects [node, script, ...arguments].
  process.argv.splice(1, 0, "ai-provider-seed")
  // A static require, so that esbuild bundles src/bin.ts and evaluates it only here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("../src/bin.js")
}, [NodeContext, NodeRuntime, Cli, IndexedConfigProvider])
