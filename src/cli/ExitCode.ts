import { ValidationError } from "@effect/cli"
import { Cause, ConfigError, Option } from "effect"

/** Exit codes of SPEC §7, the one place they are defined. */
export const ExitCode = {
  Success: 0,
  Unexpected: 1,
  InvalidConfiguration: 2,
  HashConflict: 3,
  IndexedNameCollision: 4,
  LockTimeout: 5,
  Database: 6
} as const
export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

/** Failure `_tag` to exit code. A new typed error gets its code by adding a row here. */
export const exitCodeByTag: Readonly<Record<string, ExitCode>> = {
  InvalidConfiguration: ExitCode.InvalidConfiguration,
  EnvFileError: ExitCode.InvalidConfiguration,
  OperationRefused: ExitCode.InvalidConfiguration,
  HashConflict: ExitCode.HashConflict,
  IndexedNameCollision: ExitCode.IndexedNameCollision,
  LockTimeout: ExitCode.LockTimeout,
  DatabaseError: ExitCode.Database,
  InvalidStoredSettings: ExitCode.Database,
  ConstraintViolation: ExitCode.Database,
  EmbeddedPostgresError: ExitCode.Database
}

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

/** The exit code for a failure value: usage errors of the CLI and of `Config` count as invalid configuration. */
export const exitCodeForError = (error: unknown): ExitCode => {
  if (ValidationError.isValidationError(error) || ConfigError.isConfigError(error)) {
    return ExitCode.InvalidConfiguration
  }
  const tag = tagOf(error)
  return (tag === undefined ? undefined : exitCodeByTag[tag]) ?? ExitCode.Unexpected
}

/** The exit code for how a run ended: a typed failure by its tag, anything else (defect, interruption) 1. */
export const exitCodeForCause = (cause: Cause.Cause<unknown>): ExitCode =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => ExitCode.Unexpected,
    onSome: exitCodeForError
  })
