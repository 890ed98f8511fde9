/** The name rule of SPEC §2, also enforced by a CHECK constraint on `ai_providers.name`. */
export const providerNamePattern = /^[a-z0-9]+(-[a-z0-9]+)*$/

/**
 * Not in SPEC §2, which gives no bound: without one, a long valid name fails late, at PostgreSQL's
 * unique index (its entries are limited to about 2.7 kB), instead of as a configuration error.
 */
export const maxProviderNameLength = 63

export const providerNameRule =
  `${providerNamePattern.source} and at most ${maxProviderNameLength} characters (lowercase letters and digits, words joined by single hyphens)`

export const isValidProviderName = (name: string): boolean =>
  name.length <= maxProviderNameLength && providerNamePattern.test(name)
