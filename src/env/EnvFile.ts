import { FileSystem } from "@effect/platform"
import { Config, ConfigProvider, Effect, Layer, Option, Schema } from "effect"
import * as IndexedConfigProvider from "./IndexedConfigProvider.js"

/** An env file that cannot be read or parsed. Names the path and line, never line content (it may hold keys). */
export class EnvFileError extends Schema.TaggedError<EnvFileError>()("EnvFileError", {
  path: Schema.String,
  line: Schema.optional(Schema.Number),
  reason: Schema.String
}) {
  override get message(): string {
    const where = this.line === undefined ? this.path : `${this.path}:${this.line}`
    const fix = this.line === undefined
      ? "give --dotenv the path of a readable regular file"
      : "use UTF-8 dotenv lines KEY=VALUE (\"#\" starts a comment)"
    return `Cannot use env file ${where}: ${this.reason}. Fix: ${fix}.`
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

/** An unquoted value ends at a `#` that follows white space (a comment); one scan, so linear in the line. */
const withoutComment = (raw: string): string => {
  for (let i = 1; i < raw.length; i++) {
    if (raw.charAt(i) === "#" && /\s/.test(raw.charAt(i - 1))) return raw.slice(0, i).trim()
  }
  return raw.trim()
}

/** The value part of a line, or undefined when it is malformed. */
const parseValue = (raw: string): string | undefined => {
  if (!raw.startsWith("'") && !raw.startsWith("\"")) return withoutComment(raw)
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

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** The file's text; bytes that are not UTF-8 would become U+FFFD inside a key, so they are refused by line. */
const decodeUtf8 = (path: string, bytes: Uint8Array): Effect.Effect<string, EnvFileError> =>
  Effect.try({
    try: () => utf8.decode(bytes),
    catch: () => {
      let line = 1
      for (let start = 0; start < bytes.length;) {
        const newline = bytes.indexOf(0x0a, start)
        const end = newline === -1 ? bytes.length : newline
        try {
          utf8.decode(bytes.subarray(start, end))
        } catch {
          break
        }
        line++
        start = end + 1
      }
      return new EnvFileError({
        path,
        line,
        reason: "the line is not valid UTF-8 (a key would be stored with replacement characters)"
      })
    }
  })

/**
 * Reads an env file that is a regular file: a directory, a FIFO (which would block forever without a
 * writer) or a device is refused by its path, before anything is opened for reading.
 */
const readEnvFile = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path).pipe(
      Effect.mapError((error) => new EnvFileError({ path, reason: `it cannot be found or read (${error.message})` }))
    )
    if (info.type !== "File") {
      return yield* new EnvFileError({ path, reason: `it is a ${info.type.toLowerCase()}, not a regular file` })
    }
    const bytes = yield* fs.readFile(path).pipe(
      Effect.mapError((error) => new EnvFileError({ path, reason: `it cannot be read (${error.message})` }))
    )
    return yield* parseEnvFile(path, yield* decodeUtf8(path, bytes))
  })

/**
 * An empty variable in the real environment wins over the file's value, so a provider the file
 * describes can silently disappear: say so, naming both.
 */
const warnShadowed = (path: string, fromFile: ReadonlyMap<string, string>, current: ConfigProvider.ConfigProvider) => {
  const plain = IndexedConfigProvider.variables(current)
  const set = Array.from(fromFile).flatMap(([name, value]) => value === "" ? [] : [name])
  const shadowed = plain === undefined
    ? Effect.filter(set, (name) =>
      Effect.withConfigProvider(Config.option(Config.string(name)), current).pipe(
        Effect.map((value) => Option.getOrUndefined(value) === ""),
        Effect.orElseSucceed(() => false)
      ))
    // The program's own provider: a plain filter, as the file may hold 150,000 variables.
    : Effect.succeed(set.filter((name) => plain.get(name) === ""))
  return Effect.flatMap(shadowed, (names) =>
    Effect.forEach(names, (name) =>
      Effect.logWarning(
        `${name} is set but empty in the environment, which wins over its value in ${path}: the value in the file is not used (unset ${name}, or remove it from the file)`
      ), { discard: true }))
}

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
        const variables = yield* readEnvFile(path)
        const current = yield* Effect.configProviderWith(Effect.succeed)
        yield* warnShadowed(path, variables, current)
        // The program's own provider stays one: its variables over the file's (the environment wins).
        const plain = IndexedConfigProvider.variables(current)
        return Layer.setConfigProvider(
          plain === undefined
            ? ConfigProvider.orElse(current, () => IndexedConfigProvider.fromVariables(variables))
            : IndexedConfigProvider.fromVariables([...variables, ...plain])
        )
      }))
  })
