/**
 * Loads pg with a `navigator` in place, before anything else in the bundle. pg's Cloudflare probe
 * (pg/lib/stream.js, evaluated when pg is first required) builds a `Response` when `navigator` is
 * missing, as it is before Node 21; that loads Node's bundled undici: about 18 ms of CPU at every start
 * (bench/PROFILE.md), and a failure while a V8 snapshot is built. pg's answer is the same (not a
 * Worker). The `navigator` is ours only while pg loads; Node 21+ has its own, left alone.
 */
const globals = globalThis as { navigator?: unknown }
const ours = globals.navigator === undefined
if (ours) globals.navigator = { userAgent: "Node.js" }
// A static require, bundled by esbuild: pg is evaluated here, in this order.
// eslint-disable-next-line @typescript-eslint/no-require-imports
require("pg")
if (ours) delete globals.navigator
