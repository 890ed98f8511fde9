import { Redacted } from "effect"

/**
 * Display mask for secrets (SPEC §8). Counts Unicode code points, not UTF-16
 * units, so a key with astral characters is never cut in half.
 */
export const mask = (secret: string): string => {
  const points = Array.from(secret)
  const n = points.length
  if (n === 0) return ""
  const reveal = n >= 20 ? 4 : n >= 10 ? 2 : n >= 5 ? 1 : 0
  if (n <= 2 * reveal) return "..."
  return `${points.slice(0, reveal).join("")}...${points.slice(n - reveal).join("")}`
}

/** The mask of a secret that is still redacted: the one way a secret is shown. */
export const maskSecret = (secret: Redacted.Redacted<string>): string => mask(Redacted.value(secret))
