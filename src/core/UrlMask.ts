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
  return secretWords.some((word) => normalized.includes(word))
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

/** A host with an optional numeric port, or a bracketed IPv6 address: what an authority without userinfo looks like. */
const hostAndPort = /^(?:\[[^\]]*\]|[^:@[\]]*)(?::\d*)?$/

/** Where the user information starts and ends (`[start, end)`, then the `@`), or undefined without any. */
const userinfoSpan = (url: string): readonly [number, number] | undefined => {
  const firstAt = url.indexOf("@")
  if (firstAt === -1) return undefined
  const slashes = url.indexOf("//")
  const start = slashes !== -1 && slashes < firstAt ? slashes + 2 : 0
  const stop = url.slice(start).search(/[?#]/)
  const authorityEnd = stop === -1 ? url.length : start + stop
  // WHATWG-like: the last `@` before the query ends the user information, so a password may hold `@`, `:` or `/`.
  const at = url.lastIndexOf("@", authorityEnd - 1)
  if (at >= start) return [start, at]
  // An `@` only after a `?` or `#`: a query value (`?email=a@b`) when the authority is a plain host and port;
  // otherwise a password with a raw `?` or `#`, masked up to the last `@`.
  const authority = url.slice(start, authorityEnd).split("/")[0] ?? ""
  return hostAndPort.test(authority) ? undefined : [start, url.lastIndexOf("@")]
}

/**
 * The URL with its user information replaced by `***` and the values of query, matrix (`;name=value`)
 * and fragment parameters whose names look secret replaced by `***`; every other character kept as is.
 * Total: never throws, for any string.
 */
export const maskUrl = (url: string): string => {
  const span = userinfoSpan(url)
  const [head, rest] = span === undefined ? ["", url] : [`${url.slice(0, span[0])}***`, url.slice(span[1])]
  const hash = rest.indexOf("#")
  const beforeFragment = hash === -1 ? rest : rest.slice(0, hash)
  const fragment = hash === -1 ? "" : `#${maskPairs(rest.slice(hash + 1))}`
  const question = beforeFragment.indexOf("?")
  const path = question === -1 ? beforeFragment : beforeFragment.slice(0, question)
  const query = question === -1 ? "" : `?${maskPairs(beforeFragment.slice(question + 1))}`
  return `${head}${maskMatrix(path)}${query}${fragment}`
}
