/**
 * Runs one command behind the measuring proxy and prints what went over the wire: every statement
 * with its time, connection and protocol, then the totals.
 *
 *   npx tsx bench/wire-count.ts --database-url URL [--delay-ms 5] -- node bundle/ai-provider-seed.mjs seed
 *
 * The command gets DATABASE_URL pointing at the proxy (its own environment otherwise), 60 s at most.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Option } from "effect"
import { spawn } from "node:child_process"
import * as WireProxy from "./WireProxy.js"

const separator = process.argv.indexOf("--")
const own = separator === -1 ? process.argv.slice(2) : process.argv.slice(2, separator)
const command = separator === -1 ? [] : process.argv.slice(separator + 1)
const argument = (flag: string) => {
  const at = own.indexOf(flag)
  return at === -1 ? Option.none() : Option.fromNullable(own[at + 1])
}

const run = (file: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv) =>
  Effect.async<number>((resume) => {
    const started = performance.now()
    const child = spawn(file, args, { env, stdio: ["ignore", "ignore", "inherit"] })
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.once("close", (code) => {
      clearTimeout(timer)
      resume(Effect.succeed(performance.now() - started + 0 * (code ?? 0)))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const main = Effect.gen(function*() {
  const url = Option.getOrElse(argument("--database-url"), () => process.env["DATABASE_URL"] ?? "")
  const [file, ...args] = command
  if (url === "" || file === undefined) {
    return yield* Console.error("usage: tsx bench/wire-count.ts --database-url URL [--delay-ms N] -- command ...")
  }
  const target = new URL(url)
  const proxy = yield* WireProxy.make({
    target: { host: target.hostname, port: Number(target.port || 5432) },
    delayMs: Number(Option.getOrElse(argument("--delay-ms"), () => "0"))
  })
  const wallMs = yield* run(file, args, { ...process.env, DATABASE_URL: proxy.via(url) })
  for (const statement of proxy.statements) {
    yield* Console.log(
      `${statement.atMs.toFixed(1).padStart(8)} ms  conn ${statement.connection}  ${statement.protocol.padEnd(8)}  ${
        statement.text.replace(/\s+/g, " ").trim()
      }`
    )
  }
  const summary = proxy.summary()
  yield* Console.log(
    `${summary.statements} statements (${summary.transactionControl} transaction control), ${summary.roundTrips} round trips, ${summary.connections} connections; wall ${
      wallMs.toFixed(0)
    } ms`
  )
}).pipe(Effect.scoped)

NodeRuntime.runMain(main, { disablePrettyLogger: true })
