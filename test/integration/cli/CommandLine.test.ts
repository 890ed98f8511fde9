/**
 * The command line on a bad day (issue 10, items 13 to 17): env files that are missing, not files, FIFOs
 * or not UTF-8; an option Node 20 takes for itself; out-of-range durations; interrupted runs; the wizard
 * without a terminal; empty variables that shadow the env file; adopting settings this program does not
 * know. Real processes where the operating system is the point (signals, FIFOs, stdin), the in-process
 * command line elsewhere.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { completion, runBounded, start } from "../../support/Program.js"
import { runCli } from "../../support/runCli.js"
import { scratchDirectory } from "../../support/ScratchDirectory.js"
import { resetDatabase } from "../../support/Seeding.js"
import { holdSeedLockElsewhere } from "../../support/SeedLockHolder.js"
import { awaitRow } from "../../support/ServerState.js"
import * as TestDatabase from "../../support/TestDatabase.js"

const openaiKey = "sk-command-line-canary-000111222333"

layer(TestDatabase.layer(), { excludeTestServices: true })("the command line", (it) => {
  it.scoped(
    "--dotenv names a missing file, a directory and a FIFO without a writer: exit 2, at once (13)",
    () =>
      Effect.gen(function*() {
        const directory = yield* scratchDirectory("seed-cli-")
        const fifo = Path.join(directory, "providers.fifo")
        execFileSync("mkfifo", [fifo])
        for (
          const [path, says] of [
            [Path.join(directory, "missing.env"), "cannot be found"],
            [directory, "directory"],
            [fifo, "not a regular file"]
          ] as const
        ) {
          const outcome = yield* runBounded(["config", "--dotenv", path])
          expect(outcome.code, outcome.stderr).toBe(2)
          expect(outcome.stderr).toContain(path)
          expect(outcome.stderr).toContain(says)
        }
      }),
    { timeout: 120_000 }
  )

  it.scoped("seed --format json prints the failed report when the env file or an encryption key is bad", () =>
    Effect.gen(function*() {
      const directory = yield* scratchDirectory("seed-cli-")
      const missing = Path.join(directory, "missing.env")
      const noFile = yield* runCli(["seed", "--format", "json", "--dotenv", missing])
      expect(noFile.code, noFile.all).toBe(2)
      expect(JSON.parse(noFile.stdout)).toMatchObject({
        outcome: "failed",
        error: { _tag: "EnvFileError", path: missing }
      })

      const badKey = "not-base64-but-a-canary-key"
      const keyed = yield* runCli(["seed", "--format", "json"], {
        CODER_AIBRIDGE_OPENAI_KEY: openaiKey,
        CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: badKey
      })
      expect(keyed.code, keyed.all).toBe(2)
      expect(JSON.parse(keyed.stdout)).toMatchObject({
        outcome: "failed",
        error: { _tag: "InvalidConfiguration", variables: ["CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS"] }
      })
      expect(keyed.all).not.toContain(badKey)
    }))

  it.scoped("an unquoted value with a long run of spaces parses in linear time (14)", () =>
    Effect.gen(function*() {
      const directory = yield* scratchDirectory("seed-cli-")
      const file = Path.join(directory, "spaces.env")
      // 1,000,000 spaces: the quadratic parser needed hours; a linear one a few milliseconds.
      yield* Effect.promise(() =>
        Fs.writeFile(file, `CODER_AIBRIDGE_OPENAI_KEY=${openaiKey}${" ".repeat(1_000_000)}x\n`)
      )
      const outcome = yield* runCli(["config", "--dotenv", file, "--format", "json"]).pipe(
        Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("parsing is not linear") })
      )
      expect(outcome.code, outcome.stderr).toBe(0)
      expect(JSON.parse(outcome.stdout).providers[0].name).toBe("openai")
    }))

  it.effect("an out-of-range --lock-timeout is a usage error naming the range (15)", () =>
    Effect.gen(function*() {
      for (const value of ["35792m", "0ms", "25h"]) {
        const outcome = yield* runCli(["seed", "--lock-timeout", value], { CODER_AIBRIDGE_OPENAI_KEY: openaiKey })
        expect(outcome.code, outcome.all).toBe(2)
        expect(outcome.all).toContain("1ms to 24h")
      }
    }))

  it.scoped(
    "SIGTERM during a run exits 130 and prints the JSON report with outcome interrupted (16)",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const holder = yield* holdSeedLockElsewhere
        const child = start(["seed", "--format", "json", "--lock-timeout", "60s"], {
          CODER_AIBRIDGE_OPENAI_KEY: openaiKey,
          DATABASE_URL: yield* TestDatabase.urlText
        })
        const done = yield* Effect.fork(Effect.promise(() => completion(child)))
        yield* awaitRow("the program waiting for the seed lock", (sql) =>
          sql`select a.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.locktype = 'advisory' and l.objid = 10 and not l.granted and a.application_name = 'ai-provider-seed'
            and a.datname = current_database()`)
        child.kill("SIGTERM")
        const outcome = yield* Fiber.join(done)
        yield* holder.release
        expect(outcome.code, outcome.stderr).toBe(130)
        const report = JSON.parse(outcome.stdout)
        expect(report.outcome).toBe("interrupted")
        expect(report.error._tag).toBe("Interrupted")
        const [rows] = yield* Effect.flatMap(
          SqlClient.SqlClient,
          (sql) =>
            sql<{ n: number }>`select count(*)::int as n from ai_providers`
        )
        expect(rows?.n).toBe(0)
      }),
    { timeout: 120_000 }
  )

  it.scoped(
    "key drift says which keys differ, a non-UTF-8 env file is refused by line, an empty variable that shadows the file is a warning, --wizard without a terminal is refused (17)",
    () =>
      Effect.gen(function*() {
        yield* resetDatabase
        const url = yield* TestDatabase.urlText
        const stored = yield* runCli(["seed"], {
          CODER_AIBRIDGE_OPENAI_KEY: "sk-live-aaaa-1111-aaaa-cdef",
          DATABASE_URL: url
        })
        expect(stored.code, stored.all).toBe(0)
        // Another key with the same mask (sk-l...cdef): the warning must still tell them apart.
        const drift = yield* runCli(["seed", "--format", "json"], {
          CODER_AIBRIDGE_OPENAI_KEY: "sk-live-bbbb-2222-bbbb-cdef",
          DATABASE_URL: url
        })
        const warning: string = JSON.parse(drift.stdout).providers[0].warnings[0]
        expect(warning).toContain("#1 sk-l...cdef")
        expect(warning).toContain("1 not on the other side")

        const directory = yield* scratchDirectory("seed-cli-")
        const latin1 = Path.join(directory, "latin1.env")
        yield* Effect.promise(() =>
          Fs.writeFile(
            latin1,
            Buffer.concat([
              Buffer.from("A=1\nCODER_AIBRIDGE_OPENAI_KEY=sk-caf"),
              Buffer.from([0xe9]),
              Buffer.from("\n")
            ])
          )
        )
        const invalid = yield* runCli(["config", "--dotenv", latin1])
        expect(invalid.code).toBe(2)
        expect(invalid.stderr).toContain(`${latin1}:2`)
        expect(invalid.stderr).toContain("UTF-8")

        const file = Path.join(directory, "providers.env")
        yield* Effect.promise(() => Fs.writeFile(file, `CODER_AIBRIDGE_OPENAI_KEY=${openaiKey}\n`))
        const shadowed = yield* runCli(["config", "--dotenv", file, "--format", "json"], {
          CODER_AIBRIDGE_OPENAI_KEY: ""
        })
        expect(shadowed.code).toBe(0)
        expect(JSON.parse(shadowed.stdout).providers).toEqual([])
        expect(shadowed.logs).toContain("CODER_AIBRIDGE_OPENAI_KEY is set but empty in the environment")
        expect(shadowed.logs).toContain(file)
        expect(shadowed.all).not.toContain(openaiKey)

        // Spawned with stdin at /dev/null: without the check, the wizard waits for an answer forever.
        const wizard = yield* runBounded(["--wizard"])
        expect(wizard.code).toBe(2)
        expect(wizard.stderr).toContain("--wizard")
      }),
    { timeout: 120_000 }
  )

  it.effect("adopt --yes names and audits the stored settings fields it drops (17)", () =>
    Effect.gen(function*() {
      yield* resetDatabase
      const url = yield* TestDatabase.urlText
      const sql = yield* SqlClient.SqlClient
      const env = {
        CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: "AKIACOMMANDLINE00000",
        CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: "command/line/secret/0000111122223333",
        CODER_AIBRIDGE_BEDROCK_REGION: "us-east-1",
        DATABASE_URL: url
      }
      // Stored by a newer writer, in plaintext (a NULL key id, readable with or without keys): a field
      // this program does not know, with a value that must never show.
      yield* sql`insert into ai_providers (id, type, name, display_name, base_url, settings, created_at, updated_at)
        values (gen_random_uuid(), 'anthropic', 'anthropic', 'anthropic', 'https://api.anthropic.com/',
          ${
        JSON.stringify({
          _type: "bedrock",
          _version: 1,
          access_key: "AKIACOMMANDLINE00000",
          access_key_secret: "command/line/secret/0000111122223333",
          region: "us-east-1",
          profile: "profile-secret-77"
        })
      }, now(), now())`
      const adopted = yield* runCli(["providers", "adopt", "anthropic", "--yes", "--format", "json"], {
        ...env,
        CODER_AIBRIDGE_BEDROCK_REGION: "eu-west-1"
      })
      expect(adopted.code, adopted.all).toBe(0)
      expect(JSON.parse(adopted.stdout).dropped_settings).toEqual(["profile"])
      const [audit] = yield* sql<{ diff: { old: { unknown_settings: ReadonlyArray<string> } } }>`
        select diff from audit_logs where action = 'write' and resource_target = 'anthropic'`
      expect(audit?.diff.old.unknown_settings).toEqual(["profile"])
      expect(adopted.all).not.toContain("profile-secret-77")
    }))
})
