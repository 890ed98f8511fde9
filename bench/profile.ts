/**
 * Where a no-op `seed` spends its time, in two views (findings in bench/PROFILE.md):
 *
 * - timeline (medians of `--runs`): bare `node` start; the program's module graph imported alone;
 *   the program behind the measuring proxy: spawn -> connection -> first statement -> COMMIT -> exit;
 * - CPU (one run with `node --cpu-prof`): samples by phase (module loading: resolve, read, compile,
 *   link, evaluate; the run: attributed to the nearest package or our code on the stack) and by package.
 *
 *   npx tsx bench/profile.ts --database-url URL [--runs 11] [--entry dist/bin.js] [--imports a.js,b.js]
 *
 * The database must hold the providers of the environment already (a no-op); the command gets PATH,
 * HOME and the CODER_AIBRIDGE_* and AI_PROVIDER_SEED_* variables of this process, and DATABASE_URL
 * pointing at the proxy.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Option } from "effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as WireProxy from "./WireProxy.js"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")

const argument = (flag: string) => {
  const at = process.argv.indexOf(flag)
  return at === -1 ? Option.none() : Option.fromNullable(process.argv[at + 1])
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? NaN
}

/** Wall time of a child process (ms, parent clock) and the times it started and ended. */
const run = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv) =>
  Effect.async<{ readonly startedAt: number; readonly endedAt: number; readonly code: number | null }>((resume) => {
    const startedAt = performance.now()
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "ignore", "ignore"] })
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.once("close", (code) => {
      clearTimeout(timer)
      resume(Effect.succeed({ startedAt, endedAt: performance.now(), code }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

// ----------------------------------------------------------------------------------------------------
// CPU profile

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}

interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** `effect`, `@effect/sql`, `pg`, ... for a package file; `ours` for the program; undefined for Node's own. */
const packageOf = (url: string): string | undefined => {
  const at = url.lastIndexOf("/node_modules/")
  if (at !== -1) {
    const parts = url.slice(at + "/node_modules/".length).split("/")
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]
  }
  return url.startsWith("file://") ? "ours" : undefined
}

const driver = new Set(["pg", "pg-pool", "pg-protocol", "pg-types", "pg-connection-string", "postgres-array"])

/**
 * Each sample's category: GC, idle, V8/Node native ("(program)"), module loading (any frame of Node's
 * module loader below the entry module's own body), else the run. Loading samples are attributed to the
 * module being evaluated (its top-level function on the stack), else to resolve/read/compile/link; run
 * samples to the nearest package on the stack.
 */
const categorize = (profile: CpuProfile, entryUrl: string) => {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const category = new Map<number, { readonly phase: string; readonly owner: string }>()
  const classify = (id: number) => {
    const known = category.get(id)
    if (known !== undefined) return known
    let owner: string | undefined
    let evaluating: string | undefined
    let loading = false
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame
      owner ??= packageOf(frame.url)
      if (frame.url === entryUrl && frame.lineNumber === 0 && frame.functionName === "") break
      if (frame.lineNumber === 0 && frame.functionName === "" && packageOf(frame.url) !== undefined) {
        evaluating ??= packageOf(frame.url)
      }
      if (frame.url.startsWith("node:internal/modules/")) loading = true
    }
    const name = byId.get(id)!.callFrame.functionName
    const phase = name === "(garbage collector)"
      ? "gc"
      : name === "(idle)"
      ? "idle"
      : name === "(program)"
      ? "native"
      : loading
      ? "loading"
      : "run"
    const result = {
      phase,
      owner: phase === "loading"
        ? (evaluating === undefined ? "(resolve, read, compile, link)" : `evaluate ${evaluating}`)
        : owner === undefined
        ? "node"
        : driver.has(owner)
        ? "pg"
        : owner
    }
    category.set(id, result)
    return result
  }
  const phases = new Map<string, number>()
  const owners = new Map<string, number>()
  const loadingOwners = new Map<string, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000
    const { owner, phase } = classify(profile.samples[i]!)
    phases.set(phase, (phases.get(phase) ?? 0) + ms)
    if (phase === "run") owners.set(owner, (owners.get(owner) ?? 0) + ms)
    if (phase === "loading") loadingOwners.set(owner, (loadingOwners.get(owner) ?? 0) + ms)
  }
  return { totalMs: (profile.endTime - profile.startTime) / 1000, phases, owners, loadingOwners }
}

/** Node's load hook, in its own thread: appends each ES module's URL and source size to a file. */
const censusHooks = `import { appendFileSync } from "node:fs"
let out
export function initialize(data) { out = data.out }
export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context)
  const size = result.source == null ? 0 : typeof result.source === "string" ? result.source.length : result.source.byteLength
  appendFileSync(out, url + "\\t" + size + "\\n")
  return result
}`

const census = (lines: ReadonlyArray<string>) => {
  const byPackage = new Map<string, { modules: number; bytes: number }>()
  for (const line of lines) {
    const [url = "", size = "0"] = line.split("\t")
    const key = url.startsWith("node:") ? "node: builtins" : packageOf(url) ?? "other"
    const entry = byPackage.get(key) ?? { modules: 0, bytes: 0 }
    entry.modules++
    entry.bytes += Number(size)
    byPackage.set(key, entry)
  }
  const total = [...byPackage.values()].reduce((sum, { bytes }) => sum + bytes, 0)
  return [
    `ES modules loaded: ${lines.length}, ${
      (total / 2 ** 20).toFixed(1)
    } MiB of source (CommonJS files such as pg's not counted)`,
    ...[...byPackage].sort((a, b) => b[1].bytes - a[1].bytes).map(([key, { bytes, modules }]) =>
      `  ${String(modules).padStart(5)} modules  ${(bytes / 1024).toFixed(0).padStart(6)} KiB  ${key}`
    )
  ].join("\n")
}

const table = (title: string, values: Map<string, number>) => {
  const total = [...values.values()].reduce((a, b) => a + b, 0)
  return [
    `${title} (${total.toFixed(0)} ms)`,
    ...[...values].sort((a, b) => b[1] - a[1]).filter(([, ms]) => ms >= 0.5).map(([key, ms]) =>
      `  ${ms.toFixed(1).padStart(7)} ms  ${(100 * ms / total).toFixed(0).padStart(3)}%  ${key}`
    )
  ].join("\n")
}

// ----------------------------------------------------------------------------------------------------

const main = Effect.gen(function*() {
  const url = Option.getOrElse(argument("--database-url"), () => process.env["DATABASE_URL"] ?? "")
  if (url === "") return yield* Console.error("usage: tsx bench/profile.ts --database-url URL [--runs N]")
  const runs = Number(Option.getOrElse(argument("--runs"), () => "11"))
  const entry = Path.resolve(root, Option.getOrElse(argument("--entry"), () => "dist/bin.js"))
  // What the entry imports, for the import-only run (default: dist/bin.js's own imports).
  const imports = Option.getOrElse(
    argument("--imports"),
    () => "@effect/platform-node/NodeContext,@effect/platform-node/NodeRuntime,effect,./dist/cli/Cli.js"
  ).split(",").map((specifier) =>
    specifier.startsWith("./") ? pathToFileURL(Path.join(root, specifier)).href : specifier
  )
  const target = new URL(url)
  const proxy = yield* WireProxy.make({ target: { host: target.hostname, port: Number(target.port || 5432) } })
  // A clean environment, as in bench/startup.ts: only the program's own variables (NODE_EXTRA_CA_CERTS,
  // for one, makes every Node process parse a CA bundle at start).
  const env = {
    ...Object.fromEntries(
      Object.entries(process.env).filter(([name]) => /^(PATH|HOME|CODER_AIBRIDGE_.*|AI_PROVIDER_SEED_.*)$/.test(name))
    ),
    DATABASE_URL: proxy.via(url)
  }

  const bare: Array<number> = []
  const importOnly: Array<number> = []
  const timeline = {
    beforeConnect: [] as Array<number>,
    connect: [] as Array<number>,
    statements: [] as Array<number>,
    afterCommit: [] as Array<number>,
    wall: [] as Array<number>
  }
  const importScript = imports.map((specifier, i) => `import * as m${i} from ${JSON.stringify(specifier)}`).join(";")
  for (let i = 0; i < runs; i++) {
    const empty = yield* run(["-e", "0"], env)
    bare.push(empty.endedAt - empty.startedAt)
    const imported = yield* run(["--input-type=module", "-e", importScript], env)
    importOnly.push(imported.endedAt - imported.startedAt)
    proxy.reset()
    const program = yield* run([entry, "seed"], env)
    const opened = proxy.connections[0]?.openedAtMs
    const first = proxy.statements[0]?.atMs
    const last = proxy.statements.at(-1)?.atMs
    if (program.code !== 0 || opened === undefined || first === undefined || last === undefined) {
      return yield* Console.error(`the program exited ${program.code}, or did not connect through the proxy`)
    }
    // The proxy's times count from its origin, on this process's clock.
    const started = program.startedAt - proxy.origin
    timeline.beforeConnect.push(opened - started)
    timeline.connect.push(first - opened)
    timeline.statements.push(last - first)
    timeline.afterCommit.push(program.endedAt - proxy.origin - last)
    timeline.wall.push(program.endedAt - program.startedAt)
  }
  const summary = proxy.summary()
  yield* Console.log(
    [
      `Timeline, medians of ${runs} runs (ms)`,
      `  node -e 0 (bare start and exit)                ${median(bare).toFixed(1)}`,
      `  import the module graph only (and exit)       ${median(importOnly).toFixed(1)}`,
      `  program: spawn -> TCP connection opened        ${median(timeline.beforeConnect).toFixed(1)}`,
      `  program: connection -> first statement         ${median(timeline.connect).toFixed(1)}`,
      `  program: first statement -> last (COMMIT)      ${median(timeline.statements).toFixed(1)}`,
      `  program: last statement -> process exit        ${median(timeline.afterCommit).toFixed(1)}`,
      `  program: wall                                  ${median(timeline.wall).toFixed(1)}`,
      `Wire (last run): ${summary.statements} statements (${summary.transactionControl} transaction control), ${summary.roundTrips} round trips, ${summary.connections} connection(s)`
    ].join("\n")
  )

  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "ai-provider-seed-profile-"))),
    (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
  )
  yield* run(["--cpu-prof", "--cpu-prof-interval", "100", "--cpu-prof-dir", dir, entry, "seed"], env)
  const hooks = Path.join(dir, "census-hooks.mjs")
  const register = Path.join(dir, "census-register.mjs")
  const list = Path.join(dir, "census.tsv")
  yield* Effect.promise(() => Fs.writeFile(hooks, censusHooks))
  yield* Effect.promise(() =>
    Fs.writeFile(
      register,
      `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { out: ${
        JSON.stringify(list)
      } } })`
    )
  )
  yield* run(["--import", pathToFileURL(register).href, entry, "seed"], env)
  const loaded = yield* Effect.promise(() => Fs.readFile(list, "utf8").catch(() => ""))
  yield* Console.log(census(loaded.split("\n").filter((line) => line !== "")))
  const [file] = (yield* Effect.promise(() => Fs.readdir(dir))).filter((name) => name.endsWith(".cpuprofile"))
  if (file === undefined) return yield* Console.error("no CPU profile was written")
  const profile = JSON.parse(yield* Effect.promise(() => Fs.readFile(Path.join(dir, file), "utf8"))) as CpuProfile
  const cpu = categorize(profile, pathToFileURL(entry).href)
  yield* Console.log(
    [
      `CPU profile of one run: ${cpu.totalMs.toFixed(0)} ms from the profiler's start to the exit`,
      table("by phase", cpu.phases),
      table("module loading, by the package evaluated", cpu.loadingOwners),
      table("the run, by the nearest package on the stack", cpu.owners)
    ].join("\n")
  )
}).pipe(Effect.scoped)

NodeRuntime.runMain(main, { disablePrettyLogger: true })
