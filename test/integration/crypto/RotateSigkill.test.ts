/**
 * SIGKILL in the middle of `keys rotate` on 3,000 providers leaves all old values or all new ones, never a
 * mix, and the next rotation completes. "The middle" is a state read from the server, not a sleep:
 * 1. the rotation holds the seed lock, has rewritten every value (RowExclusiveLock on ai_provider_keys)
 *    and waits before revoking (the test holds a share lock on the old key's row): killed there, the
 *    database must be exactly as before;
 * 2. the rotation holds the seed lock and has written its first page: killed there, the database is as
 *    before or fully rotated (the kill may land after the commit);
 * 3. a rotation left alone completes.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { completion, start } from "../../support/Program.js"
import { runCli } from "../../support/runCli.js"
import * as TestDatabase from "../../support/TestDatabase.js"
import { canaryKey, expectNoCanaries, largeEnvFile, seedLockHeld, waitUntil } from "../faults/Faults.js"
import {
  digestOf,
  holdKeyRow,
  keyRegistry,
  newKey,
  openAll,
  rawState,
  rotationHeldAfterWriting,
  storedValues,
  withKeys
} from "./Keys.js"

const providers = 3000
const run = "rotkill"

/** The seed lock's holder has written to ai_provider_keys in its transaction. */
const rotationHasWritten = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ written: boolean }>`
    select exists(
      select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.objid = 10 and l.objsubid = 1 and l.granted
        and a.datname = current_database()
        and exists (select 1 from pg_locks w where w.pid = a.pid and w.granted and w.mode = 'RowExclusiveLock'
          and w.relation = 'ai_provider_keys'::regclass)
    ) as written`).pipe(Effect.map((rows) => rows[0]?.written === true))

layer(TestDatabase.layer(), { excludeTestServices: true })("SIGKILL during keys rotate", (it) => {
  it.effect("all old or all new values after each kill, and the next rotation completes", () =>
    Effect.gen(function*() {
      const { name, url } = yield* TestDatabase.TestDatabase
      const env = yield* largeEnvFile(run, providers)
      const [a, b] = [newKey(), newKey()]
      const database = { DATABASE_URL: Redacted.value(url) }
      const seeded = yield* runCli(["seed", "--env-file", env.path], { ...database, ...withKeys(a) })
      expect(seeded.code, seeded.stderr).toBe(0)

      const plaintexts = yield* Effect.map(storedValues, (values) => openAll(values, [a]))
      expect(plaintexts.filter((value) => value.column === "ai_provider_keys.api_key")).toHaveLength(providers)
      expect(plaintexts).toContainEqual({
        provider: `${run}-7`,
        column: "ai_provider_keys.api_key",
        plaintext: canaryKey(run, 7)
      })
      const before = yield* rawState
      const rotateArgs = ["keys", "rotate", "--yes", "--lock-timeout", "2m"]
      const programEnv = { ...database, ...withKeys(b, a) }
      const outputs: Array<string> = []

      /**
       * Kills the rotation once `moment` holds, then runs `afterKill`; returns how it ended and whether the
       * moment still held when the signal was sent.
       */
      const killWhen = (
        what: string,
        moment: Effect.Effect<boolean, SqlError, SqlClient.SqlClient>,
        afterKill: Effect.Effect<void, SqlError> = Effect.void
      ) =>
        Effect.gen(function*() {
          const child = start(rotateArgs, programEnv)
          const done = Effect.promise(() => completion(child))
          yield* waitUntil(what, moment, "120 seconds")
          const held = yield* moment
          child.kill("SIGKILL")
          const ended = yield* done
          outputs.push(ended.stdout, ended.stderr)
          yield* afterKill
          // The server rolls the killed session back, releasing the lock, once it sees the closed socket
          // (a session blocked on a lock sees it only when the wait ends: hence `afterKill`).
          yield* waitUntil(
            "the killed session released the lock",
            Effect.map(seedLockHeld(name), (h) => !h),
            "60 seconds"
          )
          return { code: ended.code, held }
        })

      // 1. Every value rewritten, the revocation waiting on the test's share lock: killed, nothing is kept.
      const release = yield* holdKeyRow(digestOf(a))
      const first = yield* killWhen("the rotation has rewritten every value", rotationHeldAfterWriting, release)
      expect(first).toEqual({ code: null, held: true })
      expect(yield* rawState).toEqual(before)

      // 2. The first page written: all old, or (if the commit won the race) all new.
      const second = yield* killWhen("the rotation has written its first page", rotationHasWritten)
      const stored = yield* storedValues
      const rotated = stored.every((row) => row.key_id === digestOf(b))
      if (rotated) {
        expect(openAll(stored, [b])).toEqual(plaintexts)
        expect((yield* keyRegistry).map((row) => row.revoked)).toEqual([true, false])
      } else {
        expect(yield* rawState, `killed with exit ${second.code}`).toEqual(before)
      }

      // 3. Left alone, a rotation completes (or, after a committed second run, has nothing left to do).
      const last = yield* Effect.promise(() => completion(start([...rotateArgs, "--format", "json"], programEnv)))
      outputs.push(last.stdout, last.stderr)
      expect(last.code, last.stderr).toBe(0)
      expect(JSON.parse(last.stdout).revoked).toEqual(rotated ? [] : [digestOf(a)])
      const final = yield* storedValues
      expect(final.every((row) => row.key_id === digestOf(b))).toBe(true)
      expect(openAll(final, [b])).toEqual(plaintexts)
      expect((yield* keyRegistry).map((row) => [row.active_key_digest, row.revoked_key_digest])).toEqual([
        [null, digestOf(a)],
        [digestOf(b), null]
      ])
      yield* expectNoCanaries([...outputs, seeded.all], [...env.secrets, a, b])
    }).pipe(Effect.scoped), { timeout: 300_000 })
})
