#!/usr/bin/env node
/**
 * Consumer test: ai-provider-seed as a server author installs it.
 *
 * Packs the package (`npm pack`, which runs `prepare`), then, for the lowest and for the highest versions
 * that our peer ranges allow, builds a project in a temp dir from test/consumer (package.json, tsconfig,
 * src/server.ts) with the tarball installed from the npm registry's versions, and checks:
 * - the tarball holds the library entry, its types and the bin, and no sources, tests or data;
 * - `npm install` resolves (no ERESOLVE), the tree is valid (`npm ls --all`), every pinned version is the
 *   one installed, and there is exactly one copy of `effect` in node_modules;
 * - `tsc` typechecks and compiles the server (its own PgClient layer composed with SeedLayer);
 * - the installed bin runs (`ai-provider-seed config`, no database) and masks keys;
 * - the server starts against a real PostgreSQL (a scratch database on 127.0.0.1:5432, else an embedded
 *   server), seeds, serves the providers with keys masked, stops cleanly on SIGTERM, and neither it nor
 *   the bin prints Effect's "Executing an Effect versioned ..." warning.
 * Prints one "consumer test: PASS ..." or "consumer test: FAIL ..." line; exits 0 or 1.
 *
 * The projects live in a temp dir with no node_modules in any ancestor (Node would resolve missing
 * packages from there and hide a broken install): the first such of CONSUMER_WORK_DIR, the OS temp dir and
 * /var/tmp.
 *
 * Environment: CONSUMER_DATABASE_URL (admin URL of the server to use; default the local one),
 * CONSUMER_TARBALL (test this tarball instead of packing the working tree), CONSUMER_PROFILES
 * (default "lowest,highest"), CONSUMER_KEEP=1 (keep the temp projects; by default they are removed).
 */
import { execFile, spawn } from "node:child_process"
import { rmSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import Pg from "pg"

const here = Path.dirname(fileURLToPath(import.meta.url))
const root = Path.resolve(here, "../..")
const started = Date.now()
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`

// Fake keys; the checks below prove none of them reaches the HTTP response or the bin's output.
const providerEnvironment = {
  CODER_AIBRIDGE_OPENAI_KEY: "sk-consumer-openai-0000000000000000",
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "anthropic",
  CODER_AIBRIDGE_PROVIDER_0_NAME: "anthropic-eu",
  CODER_AIBRIDGE_PROVIDER_0_KEYS: "sk-ant-consumer-1111111111111111,sk-ant-consumer-2222222222222222"
}
const plaintextKeys = [
  providerEnvironment.CODER_AIBRIDGE_OPENAI_KEY,
  ...providerEnvironment.CODER_AIBRIDGE_PROVIDER_0_KEYS.split(",")
]
// SPEC §8's mask, written out: a change to the mask or to what the server serves fails here.
const expectedProviders = [
  { name: "anthropic-eu", type: "anthropic", keys: ["sk-a...1111", "sk-a...2222"] },
  { name: "openai", type: "openai", keys: ["sk-c...0000"] }
]
const versionWarning = "Executing an Effect versioned"

const failures = []
// Interrupted (Ctrl-C, CI cancel): stop the children this run started, remove its temp dir, exit.
const children = new Set()
let workDir
const track = (child) => {
  children.add(child)
  child.once("close", () => children.delete(child))
  return child
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    for (const child of children) child.kill("SIGKILL")
    if (workDir !== undefined && process.env["CONSUMER_KEEP"] !== "1") {
      rmSync(workDir, { recursive: true, force: true, maxRetries: 5 })
    }
    console.log(`consumer test: FAIL (interrupted by ${signal})`)
    process.exit(130)
  })
}
/** A check that prints "ok" or "FAIL" through `print`; a failure fails the run. */
const checker = (print) => (name, condition, reason) => {
  if (condition) return print(`  ok    ${name}`)
  failures.push(name)
  print(`  FAIL  ${name}: ${reason}`)
}
const check = checker((line) => console.log(line))

/** What a child inherits: no npm lifecycle variables of this run, no database or provider settings. */
const cleanEnvironment = () =>
  Object.fromEntries(
    Object.entries(process.env).filter(([name]) =>
      !/^npm_/i.test(name) && !/^(DATABASE_URL|TEST_DATABASE_URL|AI_PROVIDER_SEED_|CODER_AIBRIDGE_)/.test(name)
    )
  )

/** A child process that must finish within `timeoutMs`; resolves with its exit code and output. */
const run = (file, args, { cwd, env = cleanEnvironment(), timeoutMs }) =>
  new Promise((resolve) => {
    track(execFile(file, args, { cwd, env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 }, (
      error,
      stdout,
      stderr
    ) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
      const reason = error === null ? "" : error.killed ? `killed after ${timeoutMs / 1000} s` : `exit ${error.code}`
      resolve({ code, reason, stdout, stderr })
    }))
  })

const tail = (text, lines = 15) => text.trim().split("\n").slice(-lines).join("\n")

const readJson = async (file) => JSON.parse(await Fs.readFile(file, "utf8"))

const exists = (path) => Fs.stat(path).then(() => true, () => false)

/** node_modules directories that Node would search for a module imported from below `dir`. */
const ancestorNodeModules = async (dir) => {
  const found = []
  for (let current = dir; ; current = Path.dirname(current)) {
    if (await exists(Path.join(current, "node_modules"))) found.push(Path.join(current, "node_modules"))
    if (Path.dirname(current) === current) return found
  }
}

/** A fresh temp dir whose ancestors hold no node_modules, so the projects resolve only their own. */
const isolatedWorkDir = async () => {
  const candidates = [process.env["CONSUMER_WORK_DIR"], Os.tmpdir(), "/var/tmp"].filter((dir) => dir)
  for (const candidate of candidates) {
    const real = await Fs.realpath(candidate).catch(() => undefined)
    if (real === undefined) continue
    const leaks = await ancestorNodeModules(real)
    if (leaks.length === 0) return Fs.mkdtemp(Path.join(real, "ai-provider-seed-consumer-"))
    console.log(`   not in ${candidate}: ${leaks[0]} would be searched for missing packages`)
  }
  throw new Error(
    `no temp dir without node_modules in its ancestors among ${candidates.join(", ")}: ` +
      "set CONSUMER_WORK_DIR to a directory outside any project"
  )
}

/** The tarball, packed the way `npm publish` packs it (`prepare` builds dist/ first). */
const pack = async (work) => {
  const given = process.env["CONSUMER_TARBALL"]
  if (given !== undefined && given !== "") return Path.resolve(given)
  const packed = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: root, timeoutMs: 300_000 })
  if (packed.code !== 0) throw new Error(`npm pack failed (${packed.reason}):\n${tail(packed.stderr)}`)
  const [report] = JSON.parse(packed.stdout)
  const files = report.files.map((file) => file.path)
  const required = ["package.json", "README.md", "bin/ai-provider-seed.cjs", "dist/index.js", "dist/index.d.ts"]
  const missing = required.filter((file) => !files.includes(file))
  check("tarball holds the library entry, its types and the bin", missing.length === 0, `missing ${missing}`)
  const program = ["ai-provider-seed.cjs", "bare-seed.cjs"].flatMap((bundle) => [bundle, `${bundle}.cache`])
    .concat("bare-seed-rule.cjs").map((file) => `dist/program/${file}`)
  const programMissing = program.filter((file) => !files.includes(file))
  check(
    "tarball holds the program (both bundles, their code caches, the rule that chooses)",
    programMissing.length === 0,
    `missing ${programMissing}`
  )
  const stray = files.filter((file) => /^(src|test|bench|scripts|examples|\.data|node_modules)\//.test(file))
  check("tarball holds no sources, tests or data", stray.length === 0, `found ${stray.slice(0, 5)}`)
  return Path.join(work, report.filename)
}

/** Every version a range allows, newest last, from the registry. */
const versionsIn = async (name, range) => {
  const viewed = await run("npm", ["view", `${name}@${range}`, "version", "--json"], { cwd: root, timeoutMs: 60_000 })
  if (viewed.code !== 0 || viewed.stdout.trim() === "") {
    throw new Error(`npm view ${name}@${range} found no version (${viewed.reason}):\n${tail(viewed.stderr)}`)
  }
  const parsed = JSON.parse(viewed.stdout)
  const versions = Array.isArray(parsed) ? parsed : [parsed]
  const key = (version) => version.split(/[.-]/).slice(0, 3).map(Number)
  return versions.sort((a, b) => {
    const [x, y] = [key(a), key(b)]
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]
  })
}

/**
 * The consumer's dependencies per profile: our peers at the ends of our ranges, and the server's own
 * Effect packages (test/consumer/package.json) at the ends of theirs, so that both ends resolve.
 */
const profiles = async () => {
  const ours = await readJson(Path.join(root, "package.json"))
  const template = await readJson(Path.join(here, "package.json"))
  const ranges = { ...template.dependencies, ...ours.peerDependencies }
  const resolved = await Promise.all(
    Object.entries(ranges).map(async ([name, range]) => [name, await versionsIn(name, range)])
  )
  const pick = (choose) => Object.fromEntries(resolved.map(([name, versions]) => [name, choose(versions)]))
  const devDependencies = {
    typescript: ours.devDependencies.typescript,
    "@types/node": ours.devDependencies["@types/node"]
  }
  return {
    peers: Object.keys(ours.peerDependencies),
    all: {
      lowest: { dependencies: pick((versions) => versions[0]), devDependencies },
      highest: { dependencies: pick((versions) => versions[versions.length - 1]), devDependencies }
    }
  }
}

/** The admin URL of a PostgreSQL to create scratch databases on, and how to stop it when it is ours. */
const databaseServer = async () => {
  const url = process.env["CONSUMER_DATABASE_URL"] || "postgres://postgres@127.0.0.1:5432/postgres"
  const client = new Pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  const answers = await client.connect().then(() => client.end().then(() => true), () => false)
  if (answers) return { url, label: "PostgreSQL on " + new URL(url).host, stop: async () => {} }
  // The library's own embedded server, from the build `npm pack` just made.
  const { EmbeddedPostgres } = await import(Path.join(root, "dist/index.js"))
  const { Context, Effect, Exit, Layer, Redacted, Scope } = await import("effect")
  const scope = Effect.runSync(Scope.make())
  const server = await Effect.runPromise(
    Layer.buildWithScope(EmbeddedPostgres.layer({ mode: "ephemeral" }), scope).pipe(
      Effect.map(Context.get(EmbeddedPostgres))
    )
  )
  return {
    url: Redacted.value(server.url),
    label: `embedded PostgreSQL (${new URL(url).host} did not answer)`,
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const withAdmin = async (adminUrl, body) => {
  const client = new Pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 })
  await client.connect()
  try {
    await client.query("set statement_timeout = '60s'")
    return await body(client)
  } finally {
    await client.end()
  }
}

/** A fresh database for one profile's server; the returned function drops it. */
const scratchDatabase = async (adminUrl, profile) => {
  const name = `consumer_${profile}_${process.pid}_${Date.now()}`
  await withAdmin(adminUrl, (client) => client.query(`create database ${name}`))
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`))
  }
}

/** Directories named `effect` that hold the effect package, anywhere under node_modules. */
const effectCopies = async (dir) => {
  const copies = []
  const visit = async (nodeModules) => {
    const entries = await Fs.readdir(nodeModules, { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      if (!entry.isDirectory()) continue
      const packages = entry.name.startsWith("@")
        ? (await Fs.readdir(Path.join(nodeModules, entry.name))).map((name) => Path.join(entry.name, name))
        : [entry.name]
      for (const name of packages) {
        const packageDir = Path.join(nodeModules, name)
        if (name === "effect") copies.push(Path.relative(dir, packageDir))
        await visit(Path.join(packageDir, "node_modules"))
      }
    }
  }
  await visit(Path.join(dir, "node_modules"))
  return copies
}

/** Starts the compiled server, waits for its address, reads /providers, stops it with SIGTERM. */
const serve = (dir, databaseUrl) =>
  new Promise((resolve) => {
    const child = track(spawn(process.execPath, ["dist/server.js"], {
      cwd: dir,
      env: { PATH: process.env["PATH"] ?? "", HOME: Os.tmpdir(), DATABASE_URL: databaseUrl, ...providerEnvironment },
      stdio: ["ignore", "pipe", "pipe"]
    }))
    let output = ""
    let response
    let failure
    let fetching = false
    const finish = (reason) => {
      failure ??= reason
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    }
    // Bounded: a server that neither listens nor exits is killed and reported.
    const deadline = setTimeout(() => finish("no \"Listening on\" line or no exit within 120 s"), 120_000)
    const onOutput = (chunk) => {
      output += chunk.toString("utf8")
      const address = /Listening on (http:\/\/[^\s"]+)/.exec(output.replace(/\u001b\[[0-9;]*m/g, ""))
      if (address === null || fetching) return
      fetching = true
      fetch(`${address[1]}/providers`, { signal: AbortSignal.timeout(60_000) })
        .then(async (res) => (response = { status: res.status, body: await res.text() }))
        .catch((error) => (failure ??= `GET /providers: ${error.message}`))
        .finally(() => child.kill("SIGTERM"))
    }
    child.stdout.on("data", onOutput)
    child.stderr.on("data", onOutput)
    child.once("close", (code, signal) => {
      clearTimeout(deadline)
      failure ??= response === undefined ? `exited (${code ?? signal}) before answering GET /providers` : undefined
      resolve({ code, signal, output, response, failure })
    })
  })

/** Both profiles run at once (installs wait on the network, tsc on the CPU); each prints its lines when done. */
const testProfile = async (name, spec, tarball, work, database) => {
  const lines = []
  try {
    await checkProfile(name, spec, tarball, work, database, lines)
  } catch (error) {
    failures.push(name)
    lines.push(`  FAIL  ${name}: ${error instanceof Error ? error.message : String(error)}`)
  } finally {
    console.log(lines.join("\n"))
  }
}

const checkProfile = async (name, spec, tarball, work, database, lines) => {
  const since = Date.now()
  const check = checker((line) => lines.push(line))
  const versions = Object.entries(spec.dependencies).map(([pkg, version]) => `${pkg}@${version}`).join(" ")
  lines.push(`== ${name}: ${versions}`)
  const dir = await Fs.mkdtemp(Path.join(work, `${name}-`))
  await Fs.cp(Path.join(here, "src"), Path.join(dir, "src"), { recursive: true })
  await Fs.cp(Path.join(here, "tsconfig.json"), Path.join(dir, "tsconfig.json"))
  const template = await readJson(Path.join(here, "package.json"))
  await Fs.writeFile(
    Path.join(dir, "package.json"),
    JSON.stringify(
      {
        ...template,
        dependencies: { ...spec.dependencies, "ai-provider-seed": `file:${tarball}` },
        devDependencies: spec.devDependencies
      },
      null,
      2
    )
  )

  const phases = []
  let phaseStart = Date.now()
  const phase = (label) => {
    phases.push(`${label} ${seconds(phaseStart)}`)
    phaseStart = Date.now()
  }
  const installed = await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], {
    cwd: dir,
    timeoutMs: 600_000
  })
  phase("install")
  check(`${name}: npm install`, installed.code === 0, `${installed.reason}\n${tail(installed.stderr)}`)
  if (installed.code !== 0) return

  const tree = await run("npm", ["ls", "--all"], { cwd: dir, timeoutMs: 120_000 })
  check(
    `${name}: npm ls --all (no invalid, missing or extraneous package)`,
    tree.code === 0,
    tail(tree.stdout + tree.stderr)
  )
  const wrong = []
  for (const [pkg, version] of Object.entries(spec.dependencies)) {
    const actual = (await readJson(Path.join(dir, "node_modules", pkg, "package.json"))).version
    if (actual !== version) wrong.push(`${pkg} ${actual} instead of ${version}`)
  }
  check(`${name}: the pinned versions are the installed ones`, wrong.length === 0, wrong.join(", "))
  const copies = await effectCopies(dir)
  check(`${name}: one copy of effect`, copies.length === 1 && copies[0] === "node_modules/effect", copies.join(", "))
  const listed = await run("npm", ["ls", "effect", "--all", "--parseable"], { cwd: dir, timeoutMs: 120_000 })
  const listedPaths = new Set(listed.stdout.trim().split("\n").filter((line) => line !== ""))
  check(`${name}: npm ls effect names one path`, listedPaths.size === 1, [...listedPaths].join(", "))

  phase("tree checks")
  const compiled = await run(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "."], {
    cwd: dir,
    timeoutMs: 300_000
  })
  phase("tsc")
  check(`${name}: tsc typechecks the server`, compiled.code === 0, `${compiled.reason}\n${tail(compiled.stdout)}`)

  const bin = await run(Path.join(dir, "node_modules/.bin/ai-provider-seed"), ["config"], {
    cwd: dir,
    env: { PATH: process.env["PATH"] ?? "", HOME: Os.tmpdir(), ...providerEnvironment },
    timeoutMs: 60_000
  })
  const binOutput = bin.stdout + bin.stderr
  phase("bin")
  check(
    `${name}: the installed bin runs (ai-provider-seed config)`,
    bin.code === 0 && expectedProviders.every((provider) => binOutput.includes(provider.name)),
    `${bin.reason}\n${tail(binOutput)}`
  )
  check(
    `${name}: the bin prints no plaintext key and no version warning`,
    !plaintextKeys.some((key) => binOutput.includes(key)) && !binOutput.includes(versionWarning),
    "found a plaintext key or the warning in its output"
  )
  // tsc emits despite type errors: run what it emitted anyway, for the runtime symptoms of a bad install.
  if (!(await exists(Path.join(dir, "dist/server.js")))) return

  const scratch = await scratchDatabase(database.url, name)
  try {
    const served = await serve(dir, scratch.url)
    phase("server")
    check(
      `${name}: the server starts, seeds and answers`,
      served.failure === undefined,
      `${served.failure}\n${tail(served.output)}`
    )
    check(
      `${name}: the server stops cleanly on SIGTERM (exit 0)`,
      served.code === 0,
      `exit ${served.code} ${served.signal ?? ""}\n${tail(served.output)}`
    )
    check(
      `${name}: no "${versionWarning}" warning in the server's logs`,
      !served.output.includes(versionWarning),
      tail(served.output)
    )
    const body = served.response?.body ?? ""
    const providers = served.response?.status === 200 ? JSON.parse(body).providers : undefined
    // The reader promises no order of providers or keys: compare them sorted.
    const sorted = providers?.map(({ keys, name, type }) => ({ name, type, keys: keys.slice().sort() }))
      .sort((a, b) => a.name.localeCompare(b.name))
    check(
      `${name}: GET /providers serves the seeded providers, keys masked`,
      JSON.stringify(sorted) === JSON.stringify(expectedProviders),
      `status ${served.response?.status}: ${body.slice(0, 500)}`
    )
    check(
      `${name}: no plaintext key in the response or the logs`,
      !plaintextKeys.some((key) => body.includes(key) || served.output.includes(key)),
      "found one"
    )
  } finally {
    await scratch.drop()
  }
  lines.push(`   ${name} took ${seconds(since)} (${phases.join(", ")})`)
}

const main = async () => {
  const work = await isolatedWorkDir()
  workDir = work
  let database
  try {
    console.log(`== pack (projects in ${work})`)
    const tarball = await pack(work)
    const { all, peers } = await profiles()
    database = await databaseServer()
    console.log(`== database: ${database.label}`)
    const wanted = (process.env["CONSUMER_PROFILES"] || "lowest,highest").split(",")
    const unknown = wanted.filter((name) => all[name] === undefined)
    if (unknown.length > 0) throw new Error(`unknown profile ${unknown} in CONSUMER_PROFILES (lowest, highest)`)
    await Promise.all(wanted.map((name) => testProfile(name, all[name], tarball, work, database)))
    const pinned = (name) => peers.map((peer) => `${peer}@${all[name].dependencies[peer]}`).join(" ")
    return wanted.map((name) => `${name}: ${pinned(name)}`).join("; ")
  } finally {
    await database?.stop()
    if (process.env["CONSUMER_KEEP"] === "1") console.log(`   kept ${work}`)
    else await Fs.rm(work, { recursive: true, force: true })
  }
}

main().then(
  (summary) => {
    if (failures.length === 0) {
      console.log(`consumer test: PASS (${summary}; ${seconds(started)})`)
    } else {
      console.log(`consumer test: FAIL (${failures.length} checks failed; ${seconds(started)})`)
      process.exitCode = 1
    }
  },
  (error) => {
    console.log(`consumer test: FAIL (${error instanceof Error ? error.message : String(error)}; ${seconds(started)})`)
    process.exitCode = 1
  }
)
