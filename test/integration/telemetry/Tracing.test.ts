/**
 * The program's traces, end to end: the real program as a child process seeds a fresh database and
 * exports to an OTLP/HTTP receiver in this process, which decodes what arrives (protobuf and JSON).
 * Secrets in the environment are canaries that must not appear in any byte sent or printed.
 */
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Redacted } from "effect"
import * as Crypto from "node:crypto"
import { type DecodedExport, type DecodedSpan, decodeRequest } from "../../support/OtlpDecode.js"
import { answer, closedPortUrl, hang, type Receiver, receiver } from "../../support/OtlpReceiver.js"
import { completion, type ProgramResult, start } from "../../support/Program.js"
import { resetDatabase } from "../../support/Seeding.js"
import { holdSeedLockElsewhere } from "../../support/SeedLockHolder.js"
import * as TestDatabase from "../../support/TestDatabase.js"

const openaiKey = "sk-trace-canary-openai-1111222233334444"
const accessKey = "AKIATRACECANARY00000"
const accessSecret = "trace/canary/bedrock/secret/555566667777"
const otlpToken = "otlp-canary-token-88889999"
const databasePassword = "pg-canary-password-0000"

const providers = {
  CODER_AIBRIDGE_OPENAI_KEY: openaiKey,
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: accessKey,
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: accessSecret
}

/** The test database's URL with a password in it (the test servers trust loopback, so any will do). */
const databaseUrl = Effect.map(TestDatabase.TestDatabase, ({ url }) => {
  const parsed = new URL(Redacted.value(url))
  if (parsed.password === "") parsed.password = databasePassword
  return { url: parsed.toString(), password: decodeURIComponent(parsed.password) }
})

const canaries = (password: string) => [openaiKey, accessKey, accessSecret, otlpToken, password]

/** The OTLP headers carry the token: the receiver must get it, nothing else may contain it. */
const otlpHeaders = { OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${otlpToken},x-tenant=seed%2Dtests` }

const traceparent = () => {
  const traceId = Crypto.randomBytes(16).toString("hex")
  const spanId = Crypto.randomBytes(8).toString("hex")
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` }
}

interface TimedResult extends ProgramResult {
  readonly totalMs: number
  /** From the last output on stdout (the report) to the exit: what the final flush adds. */
  readonly tailMs: number
}

const runTimed = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.promise(async (): Promise<TimedResult> => {
    const started = performance.now()
    const child = start(args, env)
    let lastOutput = started
    child.stdout?.on("data", () => (lastOutput = performance.now()))
    const result = await completion(child)
    const ended = performance.now()
    return { ...result, totalMs: ended - started, tailMs: ended - lastOutput }
  })

const seed = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.flatMap(databaseUrl, ({ url }) => runTimed(["seed", ...args], { ...providers, DATABASE_URL: url, ...env }))

const exportsOf = (received: Receiver): Array<DecodedExport> => received.requests.flatMap(decodeRequest)
const spansOf = (received: Receiver): Array<DecodedSpan> => exportsOf(received).flatMap((batch) => batch.spans)
/** The spans of the requests received since the `index`-th. */
const spansSince = (received: Receiver, index: number): Array<DecodedSpan> =>
  received.requests.slice(index).flatMap(decodeRequest).flatMap((batch) => batch.spans)

const printable = (value: unknown) =>
  JSON.stringify(value, (_, field) => typeof field === "bigint" ? field.toString() : field)

/** No canary in what was printed, in any byte the receiver got, nor in what it decoded. */
const expectNoCanary = (password: string, results: ReadonlyArray<ProgramResult>, received: Receiver) => {
  const texts = [
    ...results.flatMap((result) => [result.stdout, result.stderr]),
    ...received.requests.map((request) => request.body.toString("latin1")),
    printable(exportsOf(received))
  ]
  for (const canary of canaries(password)) {
    for (const text of texts) expect(text, "a canary secret leaked").not.toContain(canary)
    for (const request of received.requests) expect(request.body.includes(canary)).toBe(false)
  }
}

const phases = ["Seed.derive", "SeedLock.acquire", "Seed.load", "Seed.decide", "Seed.write", "SeedLock.commit"]
const lockedPhases = ["SeedLock.acquire", "Seed.load", "Seed.decide", "Seed.write", "SeedLock.commit"]

/**
 * One trace: every span under the root `ai-provider-seed`, whose parent is `parentSpanId`; each phase
 * once, the locked ones in order inside one `sql.transaction` under `Seed.seed`.
 */
const expectSeedTrace = (spans: ReadonlyArray<DecodedSpan>, traceId: string, parentSpanId: string | undefined) => {
  const byId = new Map(spans.map((span) => [span.spanId, span]))
  expect(new Set(spans.map((span) => span.traceId))).toEqual(new Set([traceId]))
  const roots = spans.filter((span) => !byId.has(span.parentSpanId))
  expect(roots.map((span) => span.name)).toEqual(["ai-provider-seed"])
  const root = roots[0]!
  if (parentSpanId === undefined) expect(root.parentSpanId).toBe("")
  else expect(root.parentSpanId).toBe(parentSpanId)

  const ancestors = (span: DecodedSpan): Array<DecodedSpan> => {
    const parent = byId.get(span.parentSpanId)
    return parent === undefined ? [] : [parent, ...ancestors(parent)]
  }
  const only = (name: string) => {
    const found = spans.filter((span) => span.name === name)
    expect(found.map((span) => span.name), `spans named ${name}`).toEqual([name])
    return found[0]!
  }
  for (const name of phases) expect(ancestors(only(name))).toContain(root)
  const transactions = lockedPhases.map((name) => ancestors(only(name)).find((span) => span.name === "sql.transaction"))
  expect(new Set(transactions).size).toBe(1)
  expect(transactions[0]).toBeDefined()
  expect(ancestors(transactions[0]!).map((span) => span.name)).toContain("Seed.seed")
  const inOrder = ["Seed.derive", ...lockedPhases].map(only)
  inOrder.slice(1).forEach((span, index) => expect(span.startTime).toBeGreaterThanOrEqual(inOrder[index]!.endTime))
  return root
}

/** The bound on what a failing receiver may add to the exit, and the slack of a loaded machine. */
const maxAddedDelayMs = 2_000
const tailSlackMs = 750
const totalSlackMs = 6_000

layer(TestDatabase.layer(), { excludeTestServices: true })("tracing (child process, OTLP receiver)", (it) => {
  it.scoped(
    "protobuf: the phase spans under TRACEPARENT, the resource, the headers; no canary, also on a conflict",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const { password } = yield* databaseUrl
        const received = yield* receiver(answer())
        const parent = traceparent()
        const env = {
          OTEL_EXPORTER_OTLP_ENDPOINT: received.url,
          OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=staging%20eu,service.namespace=coder",
          TRACEPARENT: parent.header,
          ...otlpHeaders
        }
        const applied = yield* seed([], env)
        expect(applied.code, applied.stderr).toBe(0)
        expect(applied.stdout).toMatch(/inserted\s+openai/)

        expect(received.requests.length).toBeGreaterThan(0)
        for (const request of received.requests) {
          expect([request.method, request.path]).toEqual(["POST", "/v1/traces"])
          expect(request.headers["content-type"]).toBe("application/x-protobuf")
          expect(request.headers["content-encoding"]).toBeUndefined()
          expect(request.headers["authorization"]).toBe(`Bearer ${otlpToken}`)
          expect(request.headers["x-tenant"]).toBe("seed-tests")
        }
        const root = expectSeedTrace(spansOf(received), parent.traceId, parent.spanId)
        expect(root.attributes["process.exit.code"]).toBe(0)
        expect(root.status.code).not.toBe(2)
        for (const batch of exportsOf(received)) {
          expect(batch.resource).toMatchObject({
            "service.name": "ai-provider-seed",
            "deployment.environment": "staging eu",
            "service.namespace": "coder"
          })
        }
        // @effect/sql's spans carry the statement text, never its parameters (the keys are parameters).
        const statements = spansOf(received).filter((span) => span.name === "sql.execute")
        expect(statements.length).toBeGreaterThan(0)
        expect(statements.some((span) => String(span.attributes["db.query.text"]).includes("ai_provider_keys"))).toBe(
          true
        )

        const requestsBefore = received.requests.length
        const conflict = yield* seed(["--format", "json"], {
          ...env,
          TRACEPARENT: traceparent().header,
          CODER_AIBRIDGE_OPENAI_BASE_URL: "https://changed.test/v1/"
        })
        expect(conflict.code, conflict.stderr).toBe(3)
        const failedSpans = spansSince(received, requestsBefore)
        const failedRoot = failedSpans.find((span) => span.name === "ai-provider-seed")
        expect(failedRoot?.attributes["process.exit.code"]).toBe(3)
        expect(failedRoot?.status).toMatchObject({ code: 2, message: "the run exited with code 3" })
        const failed = failedSpans.find((span) => span.name === "Seed.seed")
        expect(failed?.status.code).toBe(2)
        expect(failed?.events.map((event) => event.name)).toContain("exception")
        expectNoCanary(password, [applied, conflict], received)
      }),
    { timeout: 120_000 }
  )

  it.scoped(
    "JSON: the same tree with the traces endpoint and lowercase traceparent; a bad TRACEPARENT is named",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const { password } = yield* databaseUrl
        const received = yield* receiver(answer())
        const parent = traceparent()
        const env = {
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${received.url}/custom/traces`,
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
          OTEL_SERVICE_NAME: "seed-under-test",
          ...otlpHeaders
        }
        const applied = yield* seed([], { ...env, traceparent: parent.header })
        expect(applied.code, applied.stderr).toBe(0)
        for (const request of received.requests) {
          expect([request.method, request.path]).toEqual(["POST", "/custom/traces"])
          expect(request.headers["content-type"]).toBe("application/json")
          expect(request.headers["content-encoding"]).toBeUndefined()
        }
        expectSeedTrace(spansOf(received), parent.traceId, parent.spanId)
        for (const batch of exportsOf(received)) expect(batch.resource["service.name"]).toBe("seed-under-test")

        // A database that refuses, behind a URL with a password; a TRACEPARENT that is not one.
        const refused = new URL(yield* closedPortUrl)
        const requestsBefore = received.requests.length
        const unreachable = yield* runTimed(["seed", "--format", "json"], {
          ...providers,
          ...env,
          DATABASE_URL: `postgres://seed:${password}@127.0.0.1:${refused.port}/providers`,
          TRACEPARENT: "00-not-a-trace-context-01"
        })
        expect(unreachable.code, unreachable.stderr).toBe(6)
        expect(JSON.parse(unreachable.stdout).error._tag).toBe("DatabaseError")
        expect(unreachable.stderr.match(/TRACEPARENT is not a W3C trace context/g)).toHaveLength(1)
        const spans = spansSince(received, requestsBefore)
        const root = spans.find((span) => span.name === "ai-provider-seed")
        expect(root?.parentSpanId).toBe("")
        expect(root?.attributes["process.exit.code"]).toBe(6)
        expect(root?.status.code).toBe(2)
        expectNoCanary(password, [applied, unreachable], received)
      }),
    { timeout: 120_000 }
  )

  it.scoped(
    "a receiver that refuses, answers 500 or never answers: same exit code, one warning, at most 2 s more to exit",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const { password } = yield* databaseUrl
        const failing500 = yield* receiver(answer(500))
        const hanging = yield* receiver(hang)
        const receivers = { refused: yield* closedPortUrl, "HTTP 500": failing500.url, "no answer": hanging.url }
        const baseline = yield* seed([], {})
        expect(baseline.code, baseline.stderr).toBe(0)
        const runs: Array<ProgramResult> = [baseline]
        for (const [name, url] of Object.entries(receivers)) {
          const traced = yield* seed([], { OTEL_EXPORTER_OTLP_ENDPOINT: url, ...otlpHeaders })
          runs.push(traced)
          const added = `tail +${Math.round(traced.tailMs - baseline.tailMs)} ms, total +${
            Math.round(traced.totalMs - baseline.totalMs)
          } ms`
          const context = `${name} (${added}): ${traced.stderr}`
          yield* Effect.logInfo(`${name}: ${added}`)
          expect(traced.code, context).toBe(baseline.code)
          expect(traced.stdout, context).toMatch(/unchanged\s+openai/)
          expect(traced.stderr.match(/could not export traces/g), context).toHaveLength(1)
          expect(traced.tailMs - baseline.tailMs, context).toBeLessThan(maxAddedDelayMs + tailSlackMs)
          expect(traced.totalMs - baseline.totalMs, context).toBeLessThan(maxAddedDelayMs + totalSlackMs)
        }
        expect(failing500.requests.length).toBeGreaterThan(0)
        expect(hanging.requests.length).toBeGreaterThan(0)
        expectNoCanary(password, runs, failing500)
        expectNoCanary(password, [], hanging)
      }),
    { timeout: 240_000 }
  )

  it.scoped(
    "export failures during a long run are logged once, however often the exporter retries",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const failing = yield* receiver(answer(500))
        const { release } = yield* holdSeedLockElsewhere
        const { url } = yield* databaseUrl
        const child = start(["seed", "--lock-timeout", "120s"], {
          ...providers,
          DATABASE_URL: url,
          OTEL_EXPORTER_OTLP_ENDPOINT: failing.url
        })
        const result = Effect.promise(() => completion(child))
        yield* Effect.addFinalizer(() => Effect.sync(() => child.exitCode === null && child.kill()))
        // While the lock is held the run cannot end: the periodic export fails, and is retried.
        yield* failing.received(3).pipe(Effect.timeout(Duration.seconds(60)))
        yield* release
        const { code, stderr } = yield* result
        expect(code, stderr).toBe(0)
        expect(stderr.match(/could not export traces/g), stderr).toHaveLength(1)
        expect(stderr).toContain("the receiver answered HTTP 500")
      }),
    { timeout: 120_000 }
  )

  it.scoped(
    "unset endpoint: nothing is sent and nothing is said, whatever other OTEL variables say",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const received = yield* receiver(answer())
        const result = yield* seed([], {
          ...otlpHeaders,
          OTEL_SERVICE_NAME: "unused",
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          TRACEPARENT: traceparent().header,
          // Only a configured endpoint turns export on; this variable names a receiver but not as one.
          UNRELATED_ENDPOINT: received.url
        })
        expect(result.code, result.stderr).toBe(0)
        expect(result.stderr).not.toContain("traces")
        expect(received.requests).toEqual([])
      }),
    { timeout: 120_000 }
  )
})
