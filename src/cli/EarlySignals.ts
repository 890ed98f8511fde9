/**
 * A signal that arrives while the program's modules load, before the runtime installs its own handlers,
 * ends the run with the same code as one during a run (130), instead of Node's default (143 for SIGTERM).
 * The program imports this module first and releases the handlers when the runtime takes over.
 */
const exitInterrupted = () => process.exit(130)

process.once("SIGINT", exitInterrupted)
process.once("SIGTERM", exitInterrupted)

export const releaseEarlySignals = (): void => {
  process.off("SIGINT", exitInterrupted)
  process.off("SIGTERM", exitInterrupted)
}
