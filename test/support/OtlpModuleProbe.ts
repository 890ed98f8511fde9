/**
 * Which modules a child process loaded, and a package it cannot find: Node module hooks
 * (`module.register`), installed through NODE_OPTIONS so the program's own command line stays as
 * operators run it. The load hook appends the URL of every module to a file; the resolve hook fails
 * for the hidden packages as if they were not installed.
 */
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const dataUrl = (source: string) => `data:text/javascript,${encodeURIComponent(source)}`

/** The environment that installs the probe, and the modules it recorded once the child ended. */
export const moduleProbe = (options: { readonly hide?: ReadonlyArray<string> } = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "module-probe-"))
      const file = Path.join(directory, "loaded.txt")
      Fs.writeFileSync(file, "")
      const hooks = `import { appendFileSync } from "node:fs"
const hidden = ${JSON.stringify(options.hide ?? [])}
export async function resolve(specifier, context, next) {
  if (hidden.some((name) => specifier === name || specifier.startsWith(name + "/"))) {
    throw Object.assign(new Error("Cannot find package '" + specifier + "' (hidden by the test)"), { code: "ERR_MODULE_NOT_FOUND" })
  }
  return next(specifier, context)
}
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(file)}, url + "\\n")
  return next(url, context)
}`
      const register = `import { register } from "node:module"; register(${JSON.stringify(dataUrl(hooks))})`
      return {
        directory,
        env: { NODE_OPTIONS: `--import=${dataUrl(register)}` },
        loaded: () => Fs.readFileSync(file, "utf8").split("\n").filter((line) => line !== "")
      }
    }),
    ({ directory }) => Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true }))
  ).pipe(Effect.map(({ env, loaded }) => ({ env, loaded })))
