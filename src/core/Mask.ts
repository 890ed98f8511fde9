import { Redacted } from "effect"

const surrogate = /[\uD800-\uDFFF]/

/**
 * Display mask for secrets (SPEC §8). Counts Unicode code points, not UTF-16
 * units, so a key with astral characters is never cut in half.
 */
export const mask = (secret: string): string => {
  // Split into code points only when there is a surrogate: nearly every key is ASCII.
  const points: string | ReadonlyArray<string> = surrogate.test(secret) ? Array.from(secret) : secret
  const n = points.length
  if (n === 0) return ""
  const reveal = n >= 20 ? 4 : n >= 10 ? 2 : n >= 5 ? 1 : 0
  if (n <= 2 * reveal) return "..."
  const part = (start: number, end?: number) =>
    typeof points === "string" ? points.slice(start, end) : points.slice(start, end).join("")
  return `${part(0, reveal)}...${part(n - reveal)}`
}

/** The mask of a secret that is still redacted: the one way a secret is shown. */
export const maskSecret = (secret: Redacted.Redacted<string>): string => mask(Redacted.value(secret))
