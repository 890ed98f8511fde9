/** Whether encryption at rest is on, as `config`, the seed's report and `keys status` show it: never a key. */
import { Effect, Option, Schema } from "effect"
import { Encryption } from "./Encryption.js"
import { encryptionKeysVariable } from "./EncryptionKeys.js"

export const EncryptionState = Schema.Struct({
  enabled: Schema.Boolean,
  /** The digest of the key that encrypts every write (7 hex characters); null when encryption is off. */
  primary_digest: Schema.NullOr(Schema.String)
})
export type EncryptionState = typeof EncryptionState.Type

export const encryptionState = (encryption: Pick<typeof Encryption.Service, "primaryDigest">): EncryptionState => ({
  enabled: Option.isSome(encryption.primaryDigest),
  primary_digest: Option.getOrNull(encryption.primaryDigest)
})

/** The configured encryption's state. */
export const currentEncryptionState = Effect.map(Encryption, encryptionState)

/** One line for people: `on (primary key abc1234)` or `off`. */
export const encryptionStateText = (state: EncryptionState): string =>
  state.primary_digest === null
    ? `off (${encryptionKeysVariable} is unset or empty: values are stored as plaintext)`
    : `on (primary key ${state.primary_digest})`
