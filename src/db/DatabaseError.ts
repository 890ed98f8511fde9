import type { SqlError } from "@effect/sql/SqlError"
import { Option, Schema } from "effect"

/**
 * The database was unavailable or a statement failed. Carries the step, PostgreSQL's message and
 * SQLSTATE (or the socket error, named as such), and the fix; never the statement's parameters or the
 * row PostgreSQL quotes in its detail: they may hold secrets.
 */
export class DatabaseError extends Schema.TaggedError<DatabaseError>()("DatabaseError", {
  step: Schema.String,
  reason: Schema.String,
  sqlState: Schema.optional(Schema.String),
  fix: Schema.optional(Schema.String)
}) {
  override get message() {
    const state = this.sqlState === undefined ? "" : ` (SQLSTATE ${this.sqlState})`
    const fix = this.fix ?? "check that PostgreSQL runs and the database URL is right, then start again"
    return `Database step "${this.step}" failed${state}: ${this.reason}. Fix: ${fix}.`
  }

  static readonly fromSqlError = (step: string) => (error: SqlError) => {
    const { sqlState } = sqlStateOf(error)
    const fix = fixFor(step, sqlState)
    return new DatabaseError({
      step,
      reason: reasonOf(error),
      ...(sqlState === undefined ? {} : { sqlState }),
      ...(fix === undefined ? {} : { fix })
    })
  }
}

/**
 * The fields node-postgres puts on its errors: PostgreSQL's (with `severity`), or Node's socket errors
 * (with `syscall`).
 */
const PgErrorFields = Schema.Struct({
  code: Schema.optional(Schema.String),
  severity: Schema.optional(Schema.String),
  syscall: Schema.optional(Schema.String),
  constraint: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String)
})
export type PgErrorFields = typeof PgErrorFields.Type

const decodeFields = Schema.decodeUnknownOption(PgErrorFields)

export const pgErrorFields = (error: SqlError): PgErrorFields => Option.getOrElse(decodeFields(error.cause), () => ({}))

/** A SQLSTATE only for PostgreSQL's own errors: Node's `EPIPE` has the same shape, but is not one. */
export const sqlStateOf = (error: SqlError): { sqlState?: string } => {
  const { code, severity } = pgErrorFields(error)
  return code !== undefined && severity !== undefined ? { sqlState: code } : {}
}

/** PostgreSQL's own primary message, a socket error named as such, or the driver's message. */
const reasonOf = (error: SqlError): string => {
  const { code, message, severity, syscall } = pgErrorFields(error)
  if (severity === undefined && syscall !== undefined && code !== undefined) {
    return `the connection to the server failed (socket error ${code} on ${syscall})`
  }
  return message || error.message
}

/** What an operator can do about the usual failures, by SQLSTATE class or code. */
const fixFor = (step: string, sqlState: string | undefined): string | undefined => {
  if (sqlState === undefined) return undefined
  if (sqlState === "42501") {
    return step.startsWith("migrate")
      ? "this role may not change the schema: run `ai-provider-seed migrate` once as the schema's owner (or grant CREATE on it), then start again"
      : "grant this role SELECT, INSERT, UPDATE and DELETE on ai_providers, ai_provider_keys, audit_logs, dbcrypt_keys and ai_provider_seed_migrations"
  }
  if (sqlState === "25006") {
    return "the database is read-only (a hot standby, or default_transaction_read_only): point the database URL at the primary"
  }
  if (sqlState === "57014") {
    return "a statement ran past its statement_timeout: check the server's load and locks (pg_stat_activity), or raise --lock-timeout (statements may take as long as the lock wait plus 5 s)"
  }
  if (sqlState === "25P03") {
    return "the server ended the transaction while this program was working between statements: check the machine's load, then start again"
  }
  if (sqlState === "57P05") {
    return "the server closes sessions idle longer than its idle_session_timeout, shorter than this program's pauses between transactions: raise it for this role (`alter role ... set idle_session_timeout = '1min'`), then start again"
  }
  if (sqlState === "3D000") return "create the database, or correct its name in the database URL"
  if (sqlState.startsWith("28")) return "check the user and password in the database URL and the server's pg_hba.conf"
  if (sqlState === "42710" || sqlState === "42P07" || sqlState === "42701") {
    return "the schema already has an object this migration creates (another program's migrations?): compare the database with the migration in src/db/migrations, drop or rename the conflicting object, then start again"
  }
  if (sqlState.startsWith("57P") || sqlState.startsWith("08")) {
    return "the server or the connection went away: check the server, then start again (nothing was written)"
  }
  return undefined
}
