import type { SqlError } from "@effect/sql/SqlError"
import { Schema } from "effect"

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

interface PgErrorFields {
  readonly code?: unknown
  readonly message?: unknown
}

const pgFields = (error: SqlError): PgErrorFields =>
  typeof error.cause === "object" && error.cause !== null ? error.cause as PgErrorFields : {}

export const sqlStateOf = (error: SqlError): { sqlState?: string } => {
  const code = pgFields(error).code
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? { sqlState: code } : {}
}

/** PostgreSQL's own primary message (or the driver's, e.g. ECONNREFUSED with host and port). */
const reasonOf = (error: SqlError): string => {
  const message = pgFields(error).message
  return typeof message === "string" && message !== "" ? message : error.message
}
