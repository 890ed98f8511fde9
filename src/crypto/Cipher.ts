/**
 * AES-256-GCM in the exact format of Coder's database encryption (`enterprise/dbcrypt/cipher.go` and
 * `dbcrypt.go`), so the server and this program read each other's rows: a fresh random 12-byte nonce
 * per value, a 16-byte tag, no associated data, stored as standard padded base64 of
 * `nonce || ciphertext || tag`. Synchronous on purpose: it runs once per stored value.
 */
import { Brand, Either, Schema } from "effect"
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes } from "node:crypto"

export const keyLength = 32
export const nonceLength = 12
export const tagLength = 16

/** 32 raw key bytes. Branded so a cipher can only be made from a key of the right length. */
export type KeyBytes = Uint8Array & Brand.Brand<"KeyBytes">
export const KeyBytes = Brand.refined<KeyBytes>(
  (bytes) => bytes.length === keyLength,
  (bytes) => Brand.error(`an AES-256 key is ${keyLength} bytes, not ${bytes.length}`)
)

/** Coder's `cipherAES256GCM`: prefixed to the key before hashing, so a key reused by another cipher gets another digest. */
const cipherName = "aes256gcm"

/** The key's id as stored in `dbcrypt_keys` and the `*_key_id` columns: 7 lowercase hex characters. */
export const keyDigest = (key: KeyBytes): string =>
  createHash("sha256").update(cipherName, "ascii").update(key).digest("hex").slice(0, 7)

/**
 * Strict standard base64 with padding, or undefined. Node's decoder is lenient (it skips whitespace and
 * invalid characters, accepts the URL-safe alphabet and missing padding), but its encoder writes only
 * canonical padded base64: a text is strict exactly when its bytes encode back to the same text (which
 * also rejects non-zero padding bits).
 */
export const decodeBase64Strict = (text: string): Buffer | undefined => {
  const bytes = Buffer.from(text, "base64")
  return bytes.toString("base64") === text ? bytes : undefined
}

/** A stored value that does not decrypt. Names the key digest and the reason, never the value. */
export class CiphertextRejected extends Schema.TaggedError<CiphertextRejected>()("CiphertextRejected", {
  digest: Schema.String,
  reason: Schema.Literal("malformed", "authentication")
}) {
  override get message(): string {
    return `A value encrypted with key ${this.digest} does not decrypt: ${describeRejection(this.reason)}`
  }
}

export const describeRejection = (reason: CiphertextRejected["reason"]): string =>
  reason === "malformed"
    ? `it is not standard padded base64 of at least ${nonceLength + tagLength} bytes (nonce and tag)`
    : "its authentication tag does not match (the value was altered, or another key has the same digest)"

export interface Cipher {
  readonly digest: string
  /** Standard padded base64 of `nonce || ciphertext || tag`, with a fresh nonce on every call. */
  readonly encrypt: (plaintext: string) => string
  readonly decrypt: (stored: string) => Either.Either<string, CiphertextRejected>
}

/** Nonces drawn from the CSPRNG this many at a time: one `randomBytes` call per value was a third of the cost. */
const noncesPerDraw = 1024

/**
 * Fresh random nonces, each handed out once. A drawn buffer is never written again: a new one replaces
 * it when it runs out, so a nonce returned earlier stays as it was.
 */
const makeNonceSource = () => {
  let drawn = Buffer.alloc(0)
  let next = 0
  return (): Buffer => {
    if (next + nonceLength > drawn.length) {
      drawn = randomBytes(nonceLength * noncesPerDraw)
      next = 0
    }
    next += nonceLength
    return drawn.subarray(next - nonceLength, next)
  }
}

/** The key lives only in this closure (as a KeyObject, which never prints its bytes). */
export const makeCipher = (key: KeyBytes): Cipher => {
  const secret = createSecretKey(key)
  const digest = keyDigest(key)
  const freshNonce = makeNonceSource()

  const encrypt = (plaintext: string): string => {
    const nonce = freshNonce()
    const cipher = createCipheriv("aes-256-gcm", secret, nonce, { authTagLength: tagLength })
    // Evaluated in order: the tag exists only once `final` has run.
    return Buffer.concat([nonce, cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()])
      .toString("base64")
  }

  const decrypt = (stored: string): Either.Either<string, CiphertextRejected> => {
    const bytes = decodeBase64Strict(stored)
    if (bytes === undefined || bytes.length < nonceLength + tagLength) {
      return Either.left(new CiphertextRejected({ digest, reason: "malformed" }))
    }
    const decipher = createDecipheriv("aes-256-gcm", secret, bytes.subarray(0, nonceLength), {
      authTagLength: tagLength
    })
    decipher.setAuthTag(bytes.subarray(bytes.length - tagLength))
    const body = decipher.update(bytes.subarray(nonceLength, bytes.length - tagLength))
    try {
      // `final` is where GCM checks the tag; Node reports a mismatch only by throwing.
      return Either.right(Buffer.concat([body, decipher.final()]).toString("utf8"))
    } catch {
      return Either.left(new CiphertextRejected({ digest, reason: "authentication" }))
    }
  }

  return { digest, encrypt, decrypt }
}
