/**
 * Two simple queries written to a node-postgres client at once, answered in order: one round trip where
 * sending the second after the first's answer takes two. PostgreSQL answers a query message as a whole
 * (its statements' results leave together, with its ReadyForQuery), then reads the next one, so the first
 * query's answer tells when its statements are done while the second still runs: the seed lock's message
 * is granted and bounded on its own, and the probe and the load after it read once the lock is held.
 *
 * node-postgres sends a query when the one before has been answered; it takes any object with `submit`
 * and the protocol's handlers. The first such query writes both messages; the second, queued behind it,
 * writes nothing when its turn comes and collects the second answer.
 */
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit } from "effect"
import type Pg from "pg"

/** A query's rows, by column name, each value as PostgreSQL's text (null for NULL). */
export type TextRows = ReadonlyArray<Readonly<Record<string, string | null>>>

interface Field {
  readonly name: string
}

/** node-postgres's side of a query: what it calls with the server's messages (a "submittable"). */
class Answer {
  private columns: ReadonlyArray<string> = []
  private readonly rows: Array<Record<string, string | null>> = []
  private done = false

  constructor(
    private readonly write: (connection: Pg.Connection) => void,
    private readonly settle: (exit: Exit.Exit<TextRows, SqlError>) => void
  ) {}

  submit(connection: Pg.Connection) {
    this.write(connection)
  }

  handleRowDescription(message: { readonly fields: ReadonlyArray<Field> }) {
    this.columns = message.fields.map((field) => field.name)
  }

  handleDataRow(message: { readonly fields: ReadonlyArray<string | null> }) {
    this.rows.push(Object.fromEntries(this.columns.map((column, i) => [column, message.fields[i] ?? null])))
  }

  handleCommandComplete() {}

  handleEmptyQuery() {}

  handlePortalSuspended() {}

  // node-postgres calls this instead of `handleReadyForQuery` when the query failed, and on a lost connection.
  handleError(cause: Error) {
    this.finish(Exit.fail(new SqlError({ cause, message: "Failed to execute statement" })))
  }

  handleReadyForQuery() {
    this.finish(Exit.succeed(this.rows))
  }

  private finish(exit: Exit.Exit<TextRows, SqlError>) {
    if (this.done) return
    this.done = true
    this.settle(exit)
  }
}

/** An answer that may come before or after anyone waits for it. */
const settlement = () => {
  let settled: Exit.Exit<TextRows, SqlError> | undefined
  let waiter: ((exit: Exit.Exit<TextRows, SqlError>) => void) | undefined
  return {
    settle: (exit: Exit.Exit<TextRows, SqlError>) => {
      settled = exit
      waiter?.(exit)
    },
    wait: Effect.async<TextRows, SqlError>((resume) => {
      if (settled !== undefined) return resume(settled)
      waiter = resume
    })
  }
}

/** How long a failed or interrupted wait waits for the second answer (a silent server gives none). */
const leftoverAnswerBound = "10 seconds"

/**
 * Writes `first` and `second` (simple queries: SQL text, no parameters) to `client`, which must be idle,
 * at once. Succeeds with the first's rows once it is answered, with the second's answer to wait for.
 *
 * Either wait, interrupted, runs `cancel` (the server would go on otherwise). When the first fails or a
 * wait is interrupted, the client is left idle for its next query (a ROLLBACK): the second answer is
 * awaited, at most `leftoverAnswerBound`; without it by then, the connection is closed, which fails what
 * is still pending (a query queued behind a pending one would wait as long, and node-postgres would warn
 * on stderr).
 */
export const pipelined = (
  client: Pg.Client,
  first: string,
  second: string,
  cancel: Effect.Effect<void>
): Effect.Effect<readonly [TextRows, Effect.Effect<TextRows, SqlError>], SqlError> =>
  Effect.suspend(() => {
    const [firstAnswer, secondAnswer] = [settlement(), settlement()]
    client.query(
      new Answer((connection) => {
        connection.query(first)
        connection.query(second)
      }, firstAnswer.settle)
    )
    client.query(new Answer(() => {}, secondAnswer.settle))
    // Interruptible inside the uninterruptible finalizers, so that the bound can end it.
    const idle = Effect.interruptible(secondAnswer.wait).pipe(
      Effect.timeout(leftoverAnswerBound),
      Effect.catchTag("TimeoutException", () => Effect.sync(() => client.connection.stream.destroy())),
      Effect.ignore
    )
    const cancelled = Effect.zipRight(cancel, idle)
    return firstAnswer.wait.pipe(
      Effect.tapError(() => idle),
      Effect.onInterrupt(() => cancelled),
      Effect.map((rows) => [rows, secondAnswer.wait.pipe(Effect.onInterrupt(() => cancelled))] as const)
    )
  })
