/** Options that several commands share. */
import { Options } from "@effect/cli"

export const format = Options.choice("format", ["text", "json"]).pipe(
  Options.withDefault("text"),
  Options.withDescription("Output format: text for people, json for tools (stable, documented in the README)")
)

export const envFile = Options.file("env-file", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription("A dotenv file (KEY=VALUE lines) merged under the real environment: the environment wins")
)
