#!/usr/bin/env node
/**
 * The installed command (and `npm start`): runs one of the program's bundles in dist/program/ (built by
 * `npm run build`, which `prepare` runs): bare-seed.cjs for a bare `seed`, as servers start it (the
 * program without its command line), ai-provider-seed.cjs for any other command line; compiled from V8's
 * code cache next to it when the cache matches this Node and its V8 flags, else compiled as usual.
 * CommonJS, like the bundles: an ES module entry would start Node's ES module loader for nothing.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose, see above */
"use strict"
const Fs = require("node:fs")
const { createRequire } = require("node:module")
const Path = require("node:path")
const V8 = require("node:v8")
const Vm = require("node:vm")

const readCache = (file) => {
  try {
    return Fs.readFileSync(file)
  } catch {
    return undefined
  }
}

/**
 * Once the program is loaded, the young generation keeps its size instead of doubling while the run's data
 * survives its collections: a first seed of 10,000 providers peaked at 145-165 MiB of RSS with V8's
 * default, 126-131 MiB with it, in the same time (bench/PROFILE.md, part 6). Not before: changing any V8
 * flag before the bundle is evaluated cost a no-op start 5 ms (measured with this flag at 1, 4 and 16).
 * V8 reads this one whenever the young generation would grow; the cache is written (by the build's
 * training run) under V8's default, the flags a start compiles the bundle with, or V8 would reject it.
 */
const defaultGrowthFactor = 2
/**
 * Only where it was measured (Node 20), and never over an operator's own sizing of the young generation:
 * a V8 without the flag would print an error at every start, and one of 1 would pin a size they chose.
 */
const tunesYoungGeneration = process.versions.node.startsWith("20.") &&
  ![...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((option) => option.includes("semi-space"))
const holdYoungGeneration = () => {
  if (tunesYoungGeneration) V8.setFlagsFromString("--semi-space-growth-factor=1")
}

/** The bundle as a script, from the code cache in `cacheFile` when V8 accepts it (see `runBundle`). */
const compile = (bundle, cacheFile) => {
  // CommonJS's own wrapper: the bundle sees require, module and __dirname as when Node loads it. On a
  // line of its own, which lineOffset hides: stack traces point at the bundle's own lines and columns.
  const source = `(function (exports, require, module, __filename, __dirname) {\n${Fs.readFileSync(bundle, "utf8")}\n})`
  return new Vm.Script(source, { filename: bundle, lineOffset: -1, cachedData: readCache(cacheFile) })
}

/**
 * Runs a bundle as Node runs a CommonJS module, but compiled through `vm.Script` with `cachedData`.
 * The cache is written only by the build's training run (AI_PROVIDER_SEED_WRITE_CODE_CACHE=1), at exit,
 * when it holds every function the run compiled, not only the top level. The bundle has no dynamic
 * import() (Node 20 cannot run one from cached code): the build sends them through dynamic-import.cjs,
 * which the `require` given here loads the usual way.
 */
const runBundle = (bundle) => {
  const cacheFile = `${bundle}.cache`
  const script = compile(bundle, cacheFile)
  if (process.env.AI_PROVIDER_SEED_WRITE_CODE_CACHE === "1") {
    process.once("exit", () => {
      if (tunesYoungGeneration) V8.setFlagsFromString(`--semi-space-growth-factor=${defaultGrowthFactor}`)
      Fs.writeFileSync(cacheFile, script.createCachedData())
    })
  }
  const module = { exports: {} }
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, Path.dirname(bundle))
  holdYoungGeneration()
}

module.exports = { compile, runBundle }

if (require.main === module) {
  const program = Path.join(__dirname, "../dist/program")
  // The program's own rule (src/cli/BareSeed.ts), which the build bundles alone for this choice.
  const { isBareSeed, onConflictVariable } = require(Path.join(program, "bare-seed-rule.cjs"))
  const bare = isBareSeed(process.argv, process.env[onConflictVariable] !== undefined)
  runBundle(Path.join(program, bare ? "bare-seed.cjs" : "ai-provider-seed.cjs"))
}
