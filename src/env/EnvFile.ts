import { FileSystem } from "@effect/platform"
import { ConfigProvider, Effect, Layer, Option, Schema } from "effect"
import { fromVariables } from "./IndexedConfigProvider.js"

/** An env file that cannot be read or parsed. Names the path and line, never line content (it may hold keys). */
export class EnvFileError extends Schema.TaggedError<EnvFileError>()("EnvFileError", {
  path: Schema.String,
  line: Schema.optional(Schema.Number),
  reason: Schema.String
}) {
  override get message(): string {
    const where = this.line === undefined ? this.path : `${this.path}:${this.line}`
    return `Cannot use env file ${where}: ${this.reason}. Fix: use dotenv lines KEY=VALUE ("#" starts a comment).`
  }
}

const line = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/
const escapes: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\"": "\"", "\\": "\\" }

/** Splits a quoted value from what follows its closing quote; undefined when the quote is not closed. */
const unquote = (raw: string): { readonly body: string; readonly rest: string } | undefined => {
  const quote = raw.charAt(0)
  let body = ""
  for (let i = 1; i < raw.length; i++) {
    const char = raw.charAt(i)
    if (quote === "\"" && char === "\\" && i + 1 < raw.length) {
      const next = raw.charAt(++i)
      body += escapes[next] ?? `\\${next}`
    } else if (char === quote) {
      return { body, rest: raw.slice(i + 1).trim() }
    } else {
      body += char
    }
  }
  return undefined
}

/** The value part of a line, or undefined when it is malformed. */
const parseValue = (raw: string): string | undefined => {
  if (!raw.startsWith("'") && !raw.startsWith("\"")) return raw.replace(/\s+#.*$/, "").trim()
  const quoted = unquote(raw)
  return quoted === undefined || (quoted.rest !== "" && !quoted.rest.startsWith("#")) ? undefined : quoted.body
}

/**
 * Parses dotenv text: `KEY=VALUE` lines, optional `export `, blank lines and `#` comments,
 * single quotes (literal) and double quotes (with \n, \t, \", \\ escapes). Later lines win.
 */
export const parseEnvFile = (path: string, text: string): Effect.Effect<Map<string, string>, EnvFileError> =>
  Effect.suspend(() => {
    const variables = new Map<string, string>()
    const lines = text.split(/\r?\n/)
    for (const [i, content] of lines.entries()) {
      const trimmed = content.trim()
      if (trimmed === "" || trimmed.startsWith("#")) continue
      const match = line.exec(trimmed)
      const value = match?.[2] === undefined ? undefined : parseValue(match[2])
      if (match?.[1] === undefined || value === undefined) {
        return Effect.fail(
          new EnvFileError({ path, line: i + 1, reason: "not a KEY=VALUE line, or a quoted value is not closed" })
        )
      }
      variables.set(match[1], value)
    }
    return Effect.succeed(variables)
  })

/**
 * The current ConfigProvider with the env file's variables merged under it: the real
 * environment wins. The file's names are split on "_" like `ConfigProvider.fromEnv`, so
 * the walk over indexed variables sees both sources the same way; the indexed provider keeps
 * that walk linear for files with thousands of providers.
 */
export const layer = (envFile: Option.Option<string>) =>
  Option.match(envFile, {
    onNone: () => Layer.empty,
    onSome: (path) =>
      Layer.unwrapEffect(Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const text = yield* fs.readFileString(path).pipe(
          Effect.mapError((error) => new EnvFileError({ path, reason: error.message }))
        )
        const fromFile = fromVariables(yield* parseEnvFile(path, text))
        const current = yield* Effect.configProviderWith(Effect.succeed)
        return Layer.setConfigProvider(ConfigProvider.orElse(current, () => fromFile))
      }))
  })
