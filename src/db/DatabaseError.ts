import type { SqlError } from "@effect/sql/SqlError"
import { Option, Schema } from "effect"

/**
 * The database was unavailable or a statement failed. Carries the step and PostgreSQL's message and
 * SQLSTATE, never the statement's parameters or the row PostgreSQL quotes in its detail: they may hold
 * secrets.
 */
export class DatabaseError extends Schema.TaggedError<DatabaseError>()("DatabaseError", {
  step: Schema.String,
  reason: Schema.String,
  sqlState: Schema.optional(Schema.String)
}) {
  override get message() {
    const state = this.sqlState === undefined ? "" : ` (SQLSTATE ${this.sqlState})`
    return `Database step "${this.step}" failed${state}: ${this.reason}`
  }

  static readonly fromSqlError = (step: string) => (error: SqlError) =>
    new DatabaseError({ step, reason: reasonOf(error), ...sqlStateOf(error) })
}

/** The fields node-postgres puts on the error it gives for a statement PostgreSQL refused. */
const PgErrorFields = Schema.Struct({
  code: Schema.optional(Schema.String),
  constraint: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String)
})
export type PgErrorFields = typeof PgErrorFields.Type

const decodeFields = Schema.decodeUnknownOption(PgErrorFields)

export const pgErrorFields = (error: SqlError): PgErrorFields => Option.getOrElse(decodeFields(error.cause), () => ({}))

export const sqlStateOf = (error: SqlError): { sqlState?: string } => {
  const code = pgErrorFields(error).code
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? { sqlState: code } : {}
}

/** PostgreSQL's own primary message (or the driver's, e.g. ECONNREFUSED with host and port). */
const reasonOf = (error: SqlError): string => pgErrorFields(error).message || error.message
