/**
 * Two URLs that differ only in a way a reader easily misses: a trailing slash, the letter case of the
 * scheme or host, or a port that is the scheme's default. Still a conflict (the stored value is the one
 * the runtime uses), but the message can say so instead of leaving the reader to spot it.
 */
const defaultPorts: Readonly<Record<string, string>> = { "http:": "80", "https:": "443" }

interface Parts {
  readonly scheme: string
  readonly userinfo: string
  readonly host: string
  readonly port: string
  readonly rest: string
}

/** Scheme, host and port as written (the URL parser would normalize them away), and the rest. */
const partsOf = (url: string): Parts | undefined => {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/([^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)(?::(\d*))?(.*)$/s.exec(url)
  if (match === null) return undefined
  const [, scheme = "", userinfo = "", host = "", port = "", rest = ""] = match
  return { scheme, userinfo, host, port, rest }
}

const withoutTrailingSlash = (path: string) => path.endsWith("/") ? path.slice(0, -1) : path

export const nearMiss = (stored: string, desired: string): string | undefined => {
  const [a, b] = [partsOf(stored), partsOf(desired)]
  if (a === undefined || b === undefined || a.userinfo !== b.userinfo) return undefined
  const reasons: Array<string> = []
  if (a.scheme !== b.scheme || a.host !== b.host) {
    if (a.scheme.toLowerCase() !== b.scheme.toLowerCase() || a.host.toLowerCase() !== b.host.toLowerCase()) {
      return undefined
    }
    reasons.push("the letter case of the scheme or host")
  }
  if (a.port !== b.port) {
    const defaultPort = defaultPorts[a.scheme.toLowerCase()]
    if ((a.port || defaultPort) !== (b.port || defaultPort)) return undefined
    reasons.push("a default port")
  }
  if (a.rest !== b.rest) {
    if (withoutTrailingSlash(a.rest) !== withoutTrailingSlash(b.rest)) return undefined
    reasons.push("a trailing slash")
  }
  return reasons.length === 0 ? undefined : `differs only by ${reasons.join(" and ")}`
}
