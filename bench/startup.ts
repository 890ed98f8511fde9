/**
 * Start-up of a no-op `seed` (3 providers, already seeded) against the plain script, in interleaved
 * rounds (bench/Startup.ts), with the statements each sends counted on the wire.
 *
 *   npx tsx bench/startup.ts [--database-url URL] [--rounds 21] [--delay-ms 5]
 *                            [--variants unprobed,bundle,program,snapshot,minimal]
 *
 * Variants (each `node ... seed` unless said):
 *   tsx       node --import tsx src/bin.ts (the old `npm start`)
 *   dist      dist/bin.js, tsc's output (needs `npm run build`)
 *   unprobed  src/bin.ts bundled alone: pg's undici probe runs (scripts/build-pg-probe.ts), no code cache
 *   bundle    dist/program/bare-seed.cjs (what a bare seed runs), loaded by Node without the code cache
 *   program   bin/ai-provider-seed.cjs: the bundle with V8's code cache (what `npm start` and the bin run)
 *   snapshot  a V8 startup snapshot of the bundle (bench/snapshot-entry.ts)
 *   minimal   bench/minimal-seed.ts, bundled and code-cached: BEGIN, lock + schema check, load, COMMIT
 * Without --database-url an embedded PostgreSQL is started. With --delay-ms, every variant and the
 * plain script reach the database through a proxy that adds that delay each way.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Option, Redacted } from "effect"
import * as Esbuild from "esbuild"
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { bareSeedBundle, bundleOptions, ensureBuilt } from "../scripts/build.js"
import { scratchDatabase, scratchServer } from "../support/ScratchDatabase.js"
import {
  compare,
  markdown,
  measure,
  root,
  type RunFailed,
  type Variant,
  wireCounts,
  withSslDisabled
} from "./StartupComparison.js"
import * as WireProxy from "./WireProxy.js"

const argument = (flag: string) => {
  const at = process.argv.indexOf(flag)
  return at === -1 ? Option.none() : Option.fromNullable(process.argv[at + 1])
}

export const providers: Record<string, string> = {
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_0_NAME: "startup-0",
  CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-startup-0-0123456789abcdef",
  CODER_AIBRIDGE_PROVIDER_1_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_1_NAME: "startup-1",
  CODER_AIBRIDGE_PROVIDER_1_KEY: "sk-startup-1-0123456789abcdef",
  CODER_AIBRIDGE_PROVIDER_2_TYPE: "anthropic",
  CODER_AIBRIDGE_PROVIDER_2_NAME: "startup-2",
  CODER_AIBRIDGE_PROVIDER_2_KEY: "sk-startup-2-0123456789abcdef"
}

const runCached = Path.join(root, "scripts/build-run-cached.cjs")

const bundleEntry = (dir: string, entry: string) =>
  Effect.promise(async () => {
    const outfile = Path.join(dir, `${Path.basename(entry, ".ts")}.cjs`)
    await Esbuild.build(bundleOptions(entry, outfile))
    return outfile
  })

const buildSnapshot = (dir: string) =>
  Effect.gen(function*() {
    const entry = yield* bundleEntry(dir, "bench/snapshot-entry.ts")
    const blob = Path.join(dir, "snapshot.blob")
    yield* Effect.async<void, Error>((resume) => {
      execFile(
        process.execPath,
        ["--snapshot-blob", blob, "--build-snapshot", entry],
        { cwd: dir, timeout: 120_000 },
        (error) => resume(error ? Effect.fail(error) : Effect.void)
      )
    })
    return blob
  })

/** Trains a bench bundle's code cache the way the build trains the program's: one run that writes it. */
const trainCache = (file: string, env: Readonly<Record<string, string>>) =>
  measure({ name: `${Path.basename(file)} (training)`, args: [runCached, file, "seed"] }, {
    ...env,
    AI_PROVIDER_SEED_WRITE_CODE_CACHE: "1"
  })

/** The named variants, building what they need into `dir`. */
const variant = (
  name: string,
  dir: string,
  env: Readonly<Record<string, string>>
): Effect.Effect<Variant, Error | RunFailed> => {
  switch (name) {
    case "tsx":
      return Effect.succeed({ name: "tsx src/bin.ts", args: ["--import", "tsx", "src/bin.ts", "seed"] })
    case "dist":
      return Effect.succeed({ name: "dist/bin.js (tsc)", args: [Path.join(root, "dist/bin.js"), "seed"] })
    case "unprobed":
      return Effect.map(
        bundleEntry(dir, "src/bin.ts"),
        (file) => ({ name: "bundle of src/bin.ts (pg's undici probe runs), no code cache", args: [file, "seed"] })
      )
    case "bundle":
      return Effect.succeed({ name: "bundle, no code cache", args: [bareSeedBundle, "seed"] })
    case "program":
      return Effect.succeed({
        name: "bin/ai-provider-seed.cjs (bundle + code cache)",
        args: [Path.join(root, "bin/ai-provider-seed.cjs"), "seed"]
      })
    case "snapshot":
      return Effect.map(
        buildSnapshot(dir),
        (blob) => ({ name: "V8 startup snapshot of the bundle", args: ["--snapshot-blob", blob, "seed"] })
      )
    case "minimal":
      return Effect.gen(function*() {
        const file = yield* bundleEntry(dir, "bench/minimal-seed.ts")
        yield* trainCache(file, env)
        return { name: "minimal Effect seed (ping + 4 statements), bundle + code cache", args: [runCached, file] }
      })
    default:
      return Effect.fail(new Error(`unknown variant ${name}`))
  }
}

const main = Effect.gen(function*() {
  const rounds = Number(Option.getOrElse(argument("--rounds"), () => "21"))
  const delayMs = Number(Option.getOrElse(argument("--delay-ms"), () => "0"))
  const names = Option.getOrElse(argument("--variants"), () => "unprobed,bundle,program,snapshot,minimal").split(",")
  yield* Effect.promise(() => Effect.runPromise(ensureBuilt))
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "ai-provider-seed-startup-"))),
    (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
  )
  const admin = yield* scratchServer(argument("--database-url"))
  const url = withSslDisabled(Redacted.value((yield* scratchDatabase(admin, "startup")).url))
  const env = { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", ...providers }
  // Migrate and seed once: every measured run is a no-op restart.
  yield* measure({ name: "first seed", args: [bareSeedBundle, "seed"] }, { ...env, DATABASE_URL: url })
  const variants = yield* Effect.forEach(names, (name) => variant(name, dir, { ...env, DATABASE_URL: url }))

  const counts = yield* wireCounts(variants, env, url)
  yield* Console.log(
    [
      "| program | statements | of which BEGIN/COMMIT/SAVEPOINT | round trips | connections |",
      "|---|---:|---:|---:|---:|",
      ...counts.map(({ summary, variant }) =>
        `| ${variant} | ${summary.statements} | ${summary.transactionControl} | ${summary.roundTrips} | ${summary.connections} |`
      )
    ].join("\n") + "\n"
  )

  const target = new URL(url)
  const databaseUrl = delayMs > 0
    ? (yield* WireProxy.make({ target: { host: target.hostname, port: Number(target.port || 5432) }, delayMs })).via(
      url
    )
    : url
  const comparisons = yield* compare(
    variants,
    { ...env, DATABASE_URL: databaseUrl },
    rounds,
    (round) => round % 5 === 0 ? Console.error(`round ${round}/${rounds}`) : Effect.void
  )
  yield* Console.log(
    `${rounds} rounds${
      delayMs > 0 ? `, ${delayMs} ms added each way` : ""
    }; medians, interquartile ranges in parentheses; ratios and differences are per round.\n`
  )
  yield* Console.log(markdown(comparisons, delayMs > 0))
  yield* Console.log(`\nload average after: ${Os.loadavg().map((load) => load.toFixed(1)).join(", ")}`)
}).pipe(Effect.scoped)

NodeRuntime.runMain(main, { disablePrettyLogger: true })
