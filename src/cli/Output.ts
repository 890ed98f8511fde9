/** How commands print their reports: Schema classes encoded by their schemas, for tools; text for people. */
import { Console, Effect, Schema } from "effect"

export type Format = "text" | "json"

/** Prints `value` as JSON encoded by `schema`, or as `text(value)`. */
export const print = <A, I>(schema: Schema.Schema<A, I>, format: Format, text: (value: A) => string) => (value: A) =>
  Console.log(
    format === "json" ? JSON.stringify(Schema.encodeSync(schema)(value), null, 2) : text(value)
  ).pipe(Effect.asVoid)
