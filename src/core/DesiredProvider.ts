import type { Redacted } from "effect"
import { Schema } from "effect"

/** The provider types the database enum `ai_provider_type` knows. */
export const ProviderType = Schema.Literal("openai", "anthropic")
export type ProviderType = typeof ProviderType.Type

/** Bedrock settings, present only when both AWS credentials are (SPEC §1.3). Empty strings where absent. */
export interface Bedrock {
  readonly access_key: Redacted.Redacted<string>
  readonly access_key_secret: Redacted.Redacted<string>
  readonly region: string
  readonly model: string
  readonly small_fast_model: string
  readonly base_url: string
}

/** One provider the environment asks for. */
export interface DesiredProvider {
  readonly name: string
  readonly type: ProviderType
  /** The environment variables it was derived from, so every message can point back at them. */
  readonly source: ReadonlyArray<string>
  readonly base_url: string
  /** Bearer keys, for `ai_provider_keys`. Not part of the canonical form. */
  readonly keys: ReadonlyArray<Redacted.Redacted<string>>
  readonly bedrock: Bedrock | null
}

/** An indexed provider whose TYPE the database cannot store yet. */
export interface SkippedProvider {
  readonly name: string
  readonly type: string
  readonly source: ReadonlyArray<string>
}

/** The result of deriving providers from the environment, providers sorted by name. */
export interface DesiredSet {
  readonly providers: ReadonlyArray<DesiredProvider>
  readonly skipped: ReadonlyArray<SkippedProvider>
  readonly warnings: ReadonlyArray<string>
}
