/**
 * Encryption at rest as a service: the configured keys, the per-value encrypt and decrypt that every
 * write and read of an encrypted column goes through, and the startup check of `dbcrypt_keys` (Coder's
 * `ensureEncrypted`). Per-value work is plain synchronous code (no spans, no fibers): it runs once per
 * stored value. Provided from `Config` (`layer`), or without keys (`plaintext`) for tests and mocks.
 */
import { Context, Effect, Either, Layer, Option, Schema } from "effect"
import { type Cipher, describeRejection } from "./Cipher.js"
import { encryptionKeysVariable, loadEncryptionKeys } from "./EncryptionKeys.js"

/** What `dbcrypt_keys.test` holds once decrypted: the key was the one that wrote it. */
export const testPlaintext = "coder"

/** A value as stored: ciphertext with its key's digest, or plaintext with a NULL key id. */
export interface Sealed {
  readonly value: string
  readonly keyId: string | null
}

/** Which stored value is being decrypted, for the error: never the value itself. */
export interface DecryptionContext {
  readonly provider: string
  /** `table.column`, e.g. `ai_provider_keys.api_key`. */
  readonly column: string
}

/** The columns of `dbcrypt_keys` that the startup check reads. */
export interface DbcryptKeyRow {
  readonly active_key_digest: string | null
  readonly revoked_key_digest: string | null
  readonly test: string
}

/** The row to insert when the primary key is not registered yet; `number` is the table's max + 1. */
export interface NewDbcryptKey {
  readonly active_key_digest: string
  readonly test: string
}

/** A stored value that does not decrypt. Names the provider, the column and the key digest, never the value. */
export class DecryptionFailed extends Schema.TaggedError<DecryptionFailed>()("DecryptionFailed", {
  provider: Schema.String,
  column: Schema.String,
  digest: Schema.String,
  reason: Schema.Literal("unknown key", "malformed", "authentication")
}) {
  override get message(): string {
    const what = `${this.column} of AI provider "${this.provider}"`
    return this.reason === "unknown key"
      ? `Cannot decrypt ${what}: it is encrypted with key ${this.digest}, which is not in ${encryptionKeysVariable}. Fix: add the key with digest ${this.digest} to ${encryptionKeysVariable} as a secondary key; if it is lost, \`keys delete\` clears what it encrypted.`
      : `Cannot decrypt ${what} (key ${this.digest}): ${
        describeRejection(this.reason)
      }. Fix: restore the row from a backup, or clear the value and write it again from the environment.`
  }
}

const list = (digests: ReadonlyArray<string>) => digests.join(", ")

/**
 * The configured keys do not match `dbcrypt_keys`: a registered active key is not configured (or no key
 * is, while the data may be encrypted), a configured key does not decrypt its row's test value, or the
 * primary key was revoked. Names the digests, never a key.
 */
export class EncryptionKeyMismatch extends Schema.TaggedError<EncryptionKeyMismatch>()("EncryptionKeyMismatch", {
  /** Active digests in `dbcrypt_keys` with no configured key of that digest. */
  missing: Schema.Array(Schema.String),
  /** Active digests whose configured key does not decrypt the row's `test` to `coder`. */
  undecryptable: Schema.Array(Schema.String),
  /** The primary key's digest, when `dbcrypt_keys` lists it as revoked. */
  revokedPrimary: Schema.NullOr(Schema.String),
  keysConfigured: Schema.Boolean
}) {
  override get message(): string {
    const problems = [
      ...(this.missing.length === 0 ? [] : [
        this.keysConfigured
          ? `the database has active encryption keys that are not configured: ${list(this.missing)}`
          : `no encryption key is configured, but the database has active encryption keys (its data may be encrypted): ${
            list(this.missing)
          }`
      ]),
      ...(this.undecryptable.length === 0 ? [] : [
        `the configured keys with digests ${
          list(this.undecryptable)
        } do not decrypt their test value in dbcrypt_keys (not the keys that wrote it)`
      ]),
      ...(this.revokedPrimary === null ? [] : [
        `the primary (first) key ${this.revokedPrimary} has been revoked`
      ])
    ]
    const needed = list([...this.missing, ...this.undecryptable])
    const fixes = [
      ...(needed === "" ? [] : [
        this.keysConfigured
          ? `add the key(s) with digest ${needed} to ${encryptionKeysVariable} as secondary keys, or decrypt/rotate first (\`keys decrypt\`, \`keys rotate\`)`
          : `set ${encryptionKeysVariable} to the key(s) with digest ${needed}, as the server has it, or decrypt first with them (\`keys decrypt\`)`,
        "if a key is lost, `keys delete` clears what it encrypted"
      ]),
      ...(this.revokedPrimary === null ? [] : [
        `put a key that is not revoked first in ${encryptionKeysVariable} (a new key, or an active one), keeping the active keys as secondaries`
      ])
    ]
    return `Encryption keys do not match the database: ${problems.join("; ")}. Fix: ${fixes.join("; ")}.`
  }
}

export class Encryption extends Context.Tag("ai-provider-seed/Encryption")<Encryption, {
  /** The digest of the key that encrypts writes; none when encryption is off. */
  readonly primaryDigest: Option.Option<string>
  /** Every configured key's digest, the primary first. */
  readonly digests: ReadonlyArray<string>
  /**
   * With the primary key, or as plaintext (key id NULL) when encryption is off. A blank value (white space
   * only, as Go's `strings.TrimSpace` sees it) is never encrypted: Coder does the same for every column.
   */
  readonly encrypt: (plaintext: string) => Sealed
  /** By the row's key id: NULL is plaintext, returned as it is. */
  readonly decrypt: (
    value: string,
    keyId: string | null,
    context: DecryptionContext
  ) => Either.Either<string, DecryptionFailed>
  /**
   * The startup check, given every row of `dbcrypt_keys`: each active key must be configured and decrypt
   * its test value to `coder`, and the primary must not be revoked. Returns the row to insert when the
   * primary is not registered yet.
   */
  readonly verify: (
    rows: ReadonlyArray<DbcryptKeyRow>
  ) => Effect.Effect<Option.Option<NewDbcryptKey>, EncryptionKeyMismatch>
}>() {
  /** From `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS`. */
  static readonly layer = Layer.effect(Encryption, Effect.map(loadEncryptionKeys, (ciphers) => make(ciphers)))
  /** No keys: what an unset variable gives. */
  static readonly plaintext = Layer.sync(Encryption, () => make([]))
}

/** Matches exactly the characters Go's `unicode.IsSpace` (and so `strings.TrimSpace`) treats as space. */
export const blank = /^\p{White_Space}*$/u

/** The service for the given ciphers: the primary first, digests distinct (as `parseEncryptionKeys` returns them). */
export const make = (ciphers: ReadonlyArray<Cipher>): typeof Encryption.Service => {
  const byDigest = new Map(ciphers.map((cipher) => [cipher.digest, cipher]))
  const primary = Option.fromNullable(ciphers[0])
  const primaryDigest = Option.map(primary, (cipher) => cipher.digest)

  const encrypt = Option.match(primary, {
    onNone: () => (plaintext: string): Sealed => ({ value: plaintext, keyId: null }),
    onSome: (cipher) => (plaintext: string): Sealed =>
      blank.test(plaintext)
        ? { value: plaintext, keyId: null }
        : { value: cipher.encrypt(plaintext), keyId: cipher.digest }
  })

  const decrypt = (
    value: string,
    keyId: string | null,
    context: DecryptionContext
  ): Either.Either<string, DecryptionFailed> => {
    if (keyId === null) return Either.right(value)
    const cipher = byDigest.get(keyId)
    if (cipher === undefined) {
      return Either.left(new DecryptionFailed({ ...context, digest: keyId, reason: "unknown key" }))
    }
    return Either.mapLeft(
      cipher.decrypt(value),
      (rejected) => new DecryptionFailed({ ...context, digest: keyId, reason: rejected.reason })
    )
  }

  const verify = Effect.fn("Encryption.verify")(function*(rows: ReadonlyArray<DbcryptKeyRow>) {
    const missing: Array<string> = []
    const undecryptable: Array<string> = []
    for (const row of rows) {
      if (row.active_key_digest === null) continue
      const cipher = byDigest.get(row.active_key_digest)
      if (cipher === undefined) missing.push(row.active_key_digest)
      else if (Either.getOrUndefined(cipher.decrypt(row.test)) !== testPlaintext) {
        undecryptable.push(row.active_key_digest)
      }
    }
    const revokedPrimary = Option.filter(
      primaryDigest,
      (digest) => rows.some((row) => row.revoked_key_digest === digest)
    )
    yield* Effect.annotateCurrentSpan({ "encryption.keys": ciphers.length, "encryption.key_rows": rows.length })
    if (missing.length > 0 || undecryptable.length > 0 || Option.isSome(revokedPrimary)) {
      return yield* new EncryptionKeyMismatch({
        missing,
        undecryptable,
        revokedPrimary: Option.getOrNull(revokedPrimary),
        keysConfigured: ciphers.length > 0
      })
    }
    return Option.flatMap(primary, (cipher) =>
      rows.some((row) => row.active_key_digest === cipher.digest)
        ? Option.none()
        : Option.some({ active_key_digest: cipher.digest, test: cipher.encrypt(testPlaintext) }))
  })

  return { primaryDigest, digests: ciphers.map((cipher) => cipher.digest), encrypt, decrypt, verify }
}
