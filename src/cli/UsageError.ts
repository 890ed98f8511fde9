/**
 * Whether a failure is a usage error of @effect/cli (a `ValidationError`), without loading @effect/cli:
 * its `ValidationError` module loads the whole command line, which a bare `seed` does without
 * (Program.ts). The same test as `ValidationError.isValidationError`; a unit test holds them equal.
 */
const validationErrorTypeId = Symbol.for("@effect/cli/ValidationError")

export const isUsageError = (error: unknown): boolean =>
  typeof error === "object" && error !== null && validationErrorTypeId in error
