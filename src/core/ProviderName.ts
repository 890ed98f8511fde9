/** The name rule of SPEC §2, also enforced by a CHECK constraint on `ai_providers.name`. */
export const providerNamePattern = /^[a-z0-9]+(-[a-z0-9]+)*$/

export const isValidProviderName = (name: string): boolean => providerNamePattern.test(name)
