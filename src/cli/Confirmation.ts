/**
 * Asking the operator before a command changes every encrypted value. The question goes to stderr and the
 * answer comes from stdin, so stdout keeps only the report (`--format json | jq` still works). Without a
 * terminal on stdin and stderr (a pipe, a service, /dev/null) there is nobody to ask.
 */
import { Duration, Effect } from "effect"
import * as Readline from "node:readline"

/** How long a question waits for its answer: then it counts as a no. */
export const answerTimeout = Duration.minutes(5)

export type Answer = "yes" | "no" | "no terminal" | "no answer"

const isTerminal = () => process.stdin.isTTY === true && process.stderr.isTTY === true

/** One line from the operator, or undefined on end of input or Ctrl-C. */
const readAnswer = (question: string) =>
  Effect.async<string | undefined>((resume) => {
    const readline = Readline.createInterface({ input: process.stdin, output: process.stderr })
    let answered = false
    const answer = (line: string | undefined) => {
      if (answered) return
      answered = true
      readline.close()
      resume(Effect.succeed(line))
    }
    // On a terminal, readline takes Ctrl-C itself: it is a "no", not a hang.
    readline.once("SIGINT", () => answer(undefined))
    readline.once("close", () => answer(undefined))
    readline.question(question, answer)
    return Effect.sync(() => {
      answered = true
      readline.close()
    })
  })

/** Shows `details`, asks `question [y/N]`, and says what the operator answered (bounded by `answerTimeout`). */
export const confirm = (details: string, question: string): Effect.Effect<Answer> =>
  Effect.suspend(() => {
    if (!isTerminal()) return Effect.succeed<Answer>("no terminal")
    return Effect.sync(() => process.stderr.write(`${details}\n`)).pipe(
      Effect.zipRight(readAnswer(`${question} [y/N] `)),
      Effect.map((line): Answer => line === undefined ? "no" : /^\s*y(es)?\s*$/i.test(line) ? "yes" : "no"),
      Effect.timeoutTo({
        duration: answerTimeout,
        onSuccess: (answer) => answer,
        onTimeout: (): Answer => "no answer"
      }),
      // A wait: Ctrl-C ends it, inside the program's uninterruptible commands too (see bin.ts).
      Effect.interruptible
    )
  })
