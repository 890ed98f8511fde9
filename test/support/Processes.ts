/** Processes seen from tests, through /proc: a zombie (never reaped by some containers' init) counts as gone. */
import { isAlive, processesWorkingIn } from "../../src/db/embedded/Processes.js"

/** Whether a process is alive (a zombie is not). */
export const isRunning = (pid: number) => isAlive(pid)

/** The live processes whose working directory is `dir` or below it (PostgreSQL works in its data directory). */
export { processesWorkingIn }

/** Sends a signal to a process that may be gone already. */
export const signal = (pid: number, name: NodeJS.Signals) => {
  try {
    process.kill(pid, name)
  } catch {
    // Gone already.
  }
}
