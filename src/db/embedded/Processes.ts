/**
 * What Linux says about other processes, through /proc: whether one lives (a zombie does not: an init that
 * never reaps, as in some containers, keeps dead processes listed), its parent, its working directory and
 * its environment. Each answer is `undefined` when /proc cannot tell (no such process, no permission).
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs"

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

/** The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses). */
const statFields = (pid: number): ReadonlyArray<string> | undefined => {
  const stat = read(`/proc/${pid}/stat`)
  const end = stat?.lastIndexOf(")") ?? -1
  return stat === undefined || end < 0 ? undefined : stat.slice(end + 2).split(" ")
}

/** Alive and not a zombie. Without /proc, whether signal 0 reaches it. */
export const isAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false
  const fields = statFields(pid)
  if (fields !== undefined) return fields[0] !== "Z" && fields[0] !== "X"
  if (read("/proc/self/stat") !== undefined) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

export const parentOf = (pid: number): number | undefined => {
  const ppid = Number(statFields(pid)?.[1])
  return Number.isInteger(ppid) ? ppid : undefined
}

export const workingDirectoryOf = (pid: number): string | undefined => {
  try {
    return readlinkSync(`/proc/${pid}/cwd`)
  } catch {
    return undefined
  }
}

export const environmentOf = (pid: number, name: string): string | undefined =>
  read(`/proc/${pid}/environ`)?.split("\0").find((entry) => entry.startsWith(`${name}=`))?.slice(name.length + 1)

/** The command line of a process, as its arguments. */
export const argumentsOf = (pid: number): ReadonlyArray<string> | undefined =>
  read(`/proc/${pid}/cmdline`)?.split("\0").filter((arg) => arg !== "")

const allPids = (): ReadonlyArray<number> => {
  try {
    return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number)
  } catch {
    return []
  }
}

/**
 * The live processes working in `directory` or below it. Every PostgreSQL process (postmaster, backends,
 * initdb's bootstrap) runs with its data directory as working directory, so none means none uses it.
 */
export const processesWorkingIn = (directory: string): ReadonlyArray<number> =>
  allPids().filter((pid) => {
    const cwd = workingDirectoryOf(pid)
    return cwd !== undefined && (cwd === directory || cwd.startsWith(`${directory}/`)) && isAlive(pid)
  })
