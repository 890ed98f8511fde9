import { Schema } from "effect"

/**
 * One canonical field that differs between the stored row and the environment.
 * Secret fields carry no values at all; other fields carry both values, which are
 * configuration (URLs, regions, model ids), never credentials (URLs are masked). A hint
 * says when two URLs differ only in a way that is easy to miss (a trailing slash, ...).
 */
export const FieldDifference = Schema.Union(
  Schema.Struct({ field: Schema.String, secret: Schema.Literal(true) }),
  Schema.Struct({
    field: Schema.String,
    secret: Schema.Literal(false),
    stored: Schema.String,
    desired: Schema.String,
    hint: Schema.optional(Schema.String)
  })
)
export type FieldDifference = typeof FieldDifference.Type

export const describeDifference = (difference: FieldDifference): string =>
  difference.secret
    ? `${difference.field} (secret, changed)`
    : `${difference.field} (stored ${JSON.stringify(difference.stored)}, environment ${
      JSON.stringify(difference.desired)
    }${difference.hint === undefined ? "" : `; ${difference.hint}`})`
