/** Whether a process is alive: signal 0 checks without sending anything. */
export const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
