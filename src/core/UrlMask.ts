/**
 * How a URL is shown to people (SPEC §8): provider base URLs may carry credentials
 * (`https://svc:token@proxy/v1?api_key=...`). The stored value stays exact; every display masks it.
 *
 * Works on the text, not on a parsed URL: it must never throw, and a string that no URL parser accepts
 * (a password with a raw `@` or `/`) is exactly where credentials hide.
 */

/** Substrings of parameter names that mark their values as secret (`x-api-key`, `client_secret`, `X-Amz-Signature`, ...). */
const secretWords = [
  "key",
  "token",
  "secret",
  "pass",
  "pwd",
  "sig",
  "auth",
  "credential",
  "session",
  "cookie",
  "jwt",
  "bearer",
  "private"
] as const

/** Whole names too short to look for inside others (`zipcode`, `footprint`): a password, an OAuth code, a one-time code. */
const secretNames: ReadonlySet<string> = new Set(["pw", "code", "otp"])

const decoded = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** Whether a query, matrix or fragment parameter's name looks like it holds a secret (case-insensitive, percent-decoded). */
export const isSecretName = (name: string): boolean => {
  const normalized = decoded(name).toLowerCase()
  return secretNames.has(normalized) || secretWords.some((word) => normalized.includes(word))
}

const maskParameter = (separator: string, name: string, value: string) =>
  `${separator}${name}=${value !== "" && isSecretName(name) ? "***" : value}`

/** `;name=value` parameters of path segments (and of the host part), up to the next `;`, `/`, `?` or `#`. */
const maskMatrix = (path: string) =>
  path.replace(
    /(;)([^;/?#=]*)=([^;/?#]*)/g,
    (_, separator: string, name: string, value: string) => maskParameter(separator, name, value)
  )

/** `name=value` pairs of a query or fragment, separated by `&` or `;`. */
const maskPairs = (pairs: string) =>
  pairs.replace(
    /(^|[&;])([^&;=]*)=([^&;]*)/g,
    (_, separator: string, name: string, value: string) => maskParameter(separator, name, value)
  )

/**
 * Where the user information starts and ends (`[start, end)`, then the `@`), or undefined without any.
 * It ends at the last `@`, wherever that is: a password may hold `@`, `:`, `/`, `?` or `#` unencoded, and no
 * rule can tell such a password from a path or query holding `@`. The safe side: a base URL whose query
 * holds an `@` shows its host masked too.
 */
const userinfoSpan = (url: string): readonly [number, number] | undefined => {
  const at = url.lastIndexOf("@")
  if (at === -1) return undefined
  const slashes = url.indexOf("//")
  return [slashes !== -1 && slashes < at ? slashes + 2 : 0, at]
}

/** Masks secret parameters in `text`, which starts inside the given section of a URL. */
const maskSections = (text: string, section: "path" | "query" | "fragment"): string => {
  if (section === "fragment") return maskPairs(text)
  const hash = text.indexOf("#")
  const beforeFragment = hash === -1 ? text : text.slice(0, hash)
  const fragment = hash === -1 ? "" : `#${maskPairs(text.slice(hash + 1))}`
  if (section === "query") return `${maskPairs(beforeFragment)}${fragment}`
  const question = beforeFragment.indexOf("?")
  const path = question === -1 ? beforeFragment : beforeFragment.slice(0, question)
  const query = question === -1 ? "" : `?${maskPairs(beforeFragment.slice(question + 1))}`
  return `${maskMatrix(path)}${query}${fragment}`
}

/**
 * The URL with its user information replaced by `***` and the values of query, matrix (`;name=value`)
 * and fragment parameters whose names look secret replaced by `***`; every other character kept as is.
 * Total: never throws, for any string.
 */
export const maskUrl = (url: string): string => {
  const span = userinfoSpan(url)
  if (span === undefined) return maskSections(url, "path")
  const [start, at] = span
  const masked = url.slice(start, at)
  // The masked part may have swallowed the `?` or `#`: what follows the `@` is then still query or fragment.
  const section = masked.includes("#") ? "fragment" : masked.includes("?") ? "query" : "path"
  return `${url.slice(0, start)}***${maskSections(url.slice(at), section)}`
}

/**
 * Every URL inside a free text (a usage error quoting an argument, say) masked as `maskUrl` does: a
 * token from a scheme's `://` to the next blank or quote. The scheme is matched up to 64 characters: an
 * unbounded `[a-z0-9+.-]*` is retried from every letter of a long word without `://` (20 s for an error
 * quoting a 100,000-character provider name). A longer scheme is cut, and what follows it still masked.
 */
export const maskUrlsIn = (text: string): string =>
  text.replace(/[a-z][a-z0-9+.-]{0,63}:\/\/[^\s'"`]+/gi, (url) => maskUrl(url))
