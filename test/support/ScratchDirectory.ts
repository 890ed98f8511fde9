/** A temporary directory for one test, removed with its scope, pass or fail. */
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"

export const scratchDirectory = (prefix: string) =>
  Effect.acquireRelease(
    Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), prefix))),
    (directory) => Effect.promise(() => Fs.rm(directory, { recursive: true, force: true }))
  )
