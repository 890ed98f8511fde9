/**
 * Whole-process start-up of a no-op `seed` against the plain script (bench/plain-seed.cjs), measured
 * the only way that means something on a shared machine: in rounds, each round running the plain
 * script and every variant once, in a rotating order, and comparing each variant with the plain run of
 * its own round. Wall and CPU (user + sys) come from `bench/rusage.py` (wait4).
 *
 * Used by `bench/startup.ts` (the comparison alone) and `bench/run.ts` (the whole bench).
 */
import { Data, Effect } from "effect"
import { spawn } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as WireProxy from "./WireProxy.js"

export const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const rusage = Path.join(root, "bench/rusage.py")

export class RunFailed extends Data.TaggedError("RunFailed")<{ readonly command: string; readonly reason: string }> {
  override get message() {
    return `${this.command}: ${this.reason}`
  }
}

export interface Usage {
  readonly wallMs: number
  readonly cpuMs: number
  readonly maxRssKiB: number
}

export interface Variant {
  readonly name: string
  /** Arguments to `node`. */
  readonly args: ReadonlyArray<string>
}

/**
 * The plain script's pg never tries TLS; the program would try it first (libpq's default sslmode=prefer,
 * one refused handshake and a second connection on a server without TLS). Like against like.
 */
export const withSslDisabled = (url: string) => {
  const parsed = new URL(url)
  parsed.searchParams.set("sslmode", "disable")
  return parsed.toString()
}

export const plain: Variant = { name: "plain script", args: [Path.join(root, "bench/plain-seed.cjs")] }

/** One process, measured; fails unless it exits 0. */
export const measure = (variant: Variant, env: Readonly<Record<string, string>>) =>
  Effect.async<Usage, RunFailed>((resume) => {
    const child = spawn("python3", [rusage, "--timeout", "60", "--", process.execPath, ...variant.args], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
    child.once("error", (error) => resume(Effect.fail(new RunFailed({ command: variant.name, reason: error.message }))))
    child.once("close", () => {
      try {
        const result = JSON.parse(stdout) as {
          wall_ms: number
          user_ms: number
          sys_ms: number
          max_rss_kib: number
          code: number
        }
        resume(
          result.code === 0
            ? Effect.succeed({
              wallMs: result.wall_ms,
              cpuMs: result.user_ms + result.sys_ms,
              maxRssKiB: result.max_rss_kib
            })
            : Effect.fail(new RunFailed({ command: variant.name, reason: `exited ${result.code}` }))
        )
      } catch {
        resume(Effect.fail(new RunFailed({ command: variant.name, reason: `no measurement: ${stderr.trim()}` })))
      }
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

export const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const at = (sorted.length - 1) * q
  const low = Math.floor(at)
  const high = Math.ceil(at)
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low)
}

export interface Spread {
  readonly median: number
  readonly p25: number
  readonly p75: number
}

const spread = (values: ReadonlyArray<number>): Spread => ({
  median: quantile(values, 0.5),
  p25: quantile(values, 0.25),
  p75: quantile(values, 0.75)
})

export interface Comparison {
  readonly variant: string
  readonly pairs: number
  readonly wallMs: Spread
  readonly cpuMs: Spread
  readonly maxRssMiB: number
  /** Per round: variant / plain. */
  readonly wallRatio: Spread
  readonly cpuRatio: Spread
  /** Per round: variant - plain, in ms (the figure for the delayed runs). */
  readonly wallExtraMs: Spread
}

export interface Comparisons {
  readonly plain: { readonly wallMs: Spread; readonly cpuMs: Spread; readonly maxRssMiB: number }
  readonly variants: ReadonlyArray<Comparison>
}

/** `rounds` rounds of the plain script and every variant, order rotating each round. */
export const compare = (
  variants: ReadonlyArray<Variant>,
  env: Readonly<Record<string, string>>,
  rounds: number,
  progress: (round: number) => Effect.Effect<void> = () => Effect.void
) =>
  Effect.gen(function*() {
    const all = [plain, ...variants]
    const usages = all.map((): Array<Usage> => [])
    // One warm-up round: the page cache and PostgreSQL's buffers, not counted.
    for (const variant of all) yield* measure(variant, env)
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < all.length; i++) {
        const at = (i + round) % all.length
        usages[at]!.push(yield* measure(all[at]!, env))
      }
      yield* progress(round + 1)
    }
    const base = usages[0]!
    const rssMiB = (list: ReadonlyArray<Usage>) => quantile(list.map((usage) => usage.maxRssKiB), 0.5) / 1024
    return {
      plain: {
        wallMs: spread(base.map((usage) => usage.wallMs)),
        cpuMs: spread(base.map((usage) => usage.cpuMs)),
        maxRssMiB: rssMiB(base)
      },
      variants: variants.map((variant, i): Comparison => {
        const list = usages[i + 1]!
        return {
          variant: variant.name,
          pairs: list.length,
          wallMs: spread(list.map((usage) => usage.wallMs)),
          cpuMs: spread(list.map((usage) => usage.cpuMs)),
          maxRssMiB: rssMiB(list),
          wallRatio: spread(list.map((usage, round) => usage.wallMs / base[round]!.wallMs)),
          cpuRatio: spread(list.map((usage, round) => usage.cpuMs / base[round]!.cpuMs)),
          wallExtraMs: spread(list.map((usage, round) => usage.wallMs - base[round]!.wallMs))
        }
      })
    } satisfies Comparisons
  })

/** Statements, round trips and connections of one run of each variant, counted on the wire. */
export const wireCounts = (
  variants: ReadonlyArray<Variant>,
  env: Readonly<Record<string, string>>,
  url: string
) =>
  Effect.gen(function*() {
    const target = new URL(url)
    const proxy = yield* WireProxy.make({ target: { host: target.hostname, port: Number(target.port || 5432) } })
    const counts: Array<{ readonly variant: string; readonly summary: WireProxy.WireSummary }> = []
    for (const variant of [plain, ...variants]) {
      proxy.reset()
      yield* measure(variant, { ...env, DATABASE_URL: proxy.via(url) })
      counts.push({ variant: variant.name, summary: proxy.summary() })
    }
    return counts
  }).pipe(Effect.scoped)

const fmt = (value: number, digits = 0) => value.toFixed(digits)
const range = (value: Spread, digits = 0, unit = "") =>
  `${fmt(value.median, digits)}${unit} (${fmt(value.p25, digits)}-${fmt(value.p75, digits)})`

/** The comparison as a markdown table: medians, and the interquartile range of each in parentheses. */
export const markdown = (comparisons: Comparisons, delayed: boolean) =>
  [
    `| program | wall ms | CPU ms | max RSS | wall / plain | CPU / plain |${delayed ? " wall - plain |" : ""}`,
    `|---|---:|---:|---:|---:|---:|${delayed ? "---:|" : ""}`,
    `| ${plain.name} | ${range(comparisons.plain.wallMs)} | ${range(comparisons.plain.cpuMs)} | ${
      fmt(comparisons.plain.maxRssMiB)
    } MiB | | |${delayed ? " |" : ""}`,
    ...comparisons.variants.map((row) =>
      `| ${row.variant} | ${range(row.wallMs)} | ${range(row.cpuMs)} | ${fmt(row.maxRssMiB)} MiB | ${
        range(row.wallRatio, 2, "x")
      } | ${range(row.cpuRatio, 2, "x")} |${delayed ? ` ${range(row.wallExtraMs, 0, " ms")} |` : ""}`
    )
  ].join("\n")
