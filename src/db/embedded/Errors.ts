import { Schema } from "effect"

/** A step of starting the embedded server failed. Names the step, the data directory, the reason and the fix. */
export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()("EmbeddedPostgresError", {
  step: Schema.Literal("binaries", "user", "directory", "initdb", "credentials", "recover", "start"),
  dataDir: Schema.String,
  reason: Schema.String,
  fix: Schema.String
}) {
  override get message() {
    return `Embedded PostgreSQL failed at ${this.step} (data directory ${this.dataDir}): ${this.reason}. Fix: ${this.fix}.`
  }
}

/**
 * The data directory the configuration names cannot be used as it is (not empty and not PostgreSQL's, owned by
 * someone else, out of the server user's reach). Nothing was changed: it is the operator's to fix.
 */
export class DataDirectoryUnusable extends Schema.TaggedError<DataDirectoryUnusable>()("DataDirectoryUnusable", {
  dataDir: Schema.String,
  reason: Schema.String,
  fix: Schema.String
}) {
  override get message() {
    return `The embedded PostgreSQL data directory ${this.dataDir} cannot be used: ${this.reason}. Fix: ${this.fix}.`
  }
}

/** The reason a Node call failed, without a stack. */
export const reasonOf = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)
