/**
 * Exit codes of SPEC §7, the one place they are defined: every typed failure of the program has a
 * row (the compiler checks), and the help text is generated from the same table.
 */
import { Cause, ConfigError, Option, Schema } from "effect"
import { KeyOperationRefused } from "../admin/KeyOperationRefused.js"
import { OperationRefused } from "../admin/OperationRefused.js"
import { HashConflict, IndexedNameCollision, InvalidConfiguration, UnreadableStoredProvider } from "../core/Errors.js"
import { DecryptionFailed, EncryptionKeyMismatch } from "../crypto/Encryption.js"
import { LockTimeout } from "../db/AdvisoryLock.js"
import { ConstraintViolation } from "../db/ConstraintViolation.js"
import { DatabaseError } from "../db/DatabaseError.js"
import { EmbeddedPostgresError } from "../db/embedded/Errors.js"
import { EnvFileError } from "../env/EnvFile.js"
import { isUsageError } from "./UsageError.js"

/** Every typed failure a command can end with, as one schema: the JSON report's `error` is its encoding. */
export const Failure = Schema.Union(
  InvalidConfiguration,
  EnvFileError,
  OperationRefused,
  KeyOperationRefused,
  HashConflict,
  IndexedNameCollision,
  LockTimeout,
  DatabaseError,
  UnreadableStoredProvider,
  ConstraintViolation,
  EmbeddedPostgresError,
  EncryptionKeyMismatch,
  DecryptionFailed
)
export type Failure = typeof Failure.Type

export const ExitCode = {
  Success: 0,
  Unexpected: 1,
  InvalidConfiguration: 2,
  HashConflict: 3,
  IndexedNameCollision: 4,
  LockTimeout: 5,
  Database: 6,
  Encryption: 7,
  /** SIGINT or SIGTERM: the run stopped, its transaction rolled back, its embedded server stopped. */
  Interrupted: 130
} as const
export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

/** What each code means, for `--help` and the README. */
export const exitCodeMeanings: { readonly [Code in ExitCode]: string } = {
  0: "success (also: nothing to seed)",
  1: "unexpected error",
  2: "invalid configuration or usage",
  3: "a stored provider differs from the environment",
  4: "two configured providers claim one name",
  5: "a lock (the seed lock or the migrations lock) was not granted in time",
  6: "database unavailable or a statement failed",
  7: "the encryption keys do not match the database",
  130: "interrupted (SIGINT or SIGTERM): nothing was committed"
}

/** Failure `_tag` to exit code: total, so a new failure cannot silently exit 1. */
export const exitCodes: { readonly [Tag in Failure["_tag"]]: ExitCode } = {
  InvalidConfiguration: ExitCode.InvalidConfiguration,
  EnvFileError: ExitCode.InvalidConfiguration,
  OperationRefused: ExitCode.InvalidConfiguration,
  KeyOperationRefused: ExitCode.InvalidConfiguration,
  HashConflict: ExitCode.HashConflict,
  IndexedNameCollision: ExitCode.IndexedNameCollision,
  LockTimeout: ExitCode.LockTimeout,
  DatabaseError: ExitCode.Database,
  UnreadableStoredProvider: ExitCode.Database,
  ConstraintViolation: ExitCode.Database,
  EmbeddedPostgresError: ExitCode.Database,
  EncryptionKeyMismatch: ExitCode.Encryption,
  DecryptionFailed: ExitCode.Encryption
}

const isFailureTag = (tag: unknown): tag is Failure["_tag"] => typeof tag === "string" && Object.hasOwn(exitCodes, tag)

/** The exit code for a failure value: usage errors of the CLI and of `Config` count as invalid configuration. */
export const exitCodeForError = (error: unknown): ExitCode => {
  if (isUsageError(error) || ConfigError.isConfigError(error)) {
    return ExitCode.InvalidConfiguration
  }
  const tag = typeof error === "object" && error !== null && "_tag" in error ? error._tag : undefined
  return isFailureTag(tag) ? exitCodes[tag] : ExitCode.Unexpected
}

/** The exit code for how a run ended: a typed failure by its tag, an interruption 130, a defect 1. */
export const exitCodeForCause = (cause: Cause.Cause<unknown>): ExitCode =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => Cause.isInterruptedOnly(cause) ? ExitCode.Interrupted : ExitCode.Unexpected,
    onSome: exitCodeForError
  })

/** "Exit codes: 0 success ..., 2 invalid configuration or usage (InvalidConfiguration, ...), ...". */
export const exitCodeHelp = (): string => {
  const tagsOf = (code: ExitCode) => Object.entries(exitCodes).filter(([, c]) => c === code).map(([tag]) => tag)
  const rows = Object.values(ExitCode).map((code) => {
    const tags = tagsOf(code)
    return `${code} ${exitCodeMeanings[code]}${tags.length === 0 ? "" : ` (${tags.join(", ")})`}`
  })
  return `Exit codes: ${rows.join("; ")}.`
}
