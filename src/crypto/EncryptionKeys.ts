/**
 * `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS`: comma-separated keys, each strict standard base64 (with
 * padding) of 32 bytes, no trimming. The first is the primary (it encrypts every write); the others only
 * decrypt, for rotation. Unset or empty: no encryption. Errors name the entry's position, never a key.
 */
import { Config, Effect, Either, Option, Redacted } from "effect"
import { InvalidConfiguration } from "../core/Errors.js"
import { type Cipher, decodeBase64Strict, KeyBytes, keyLength, makeCipher } from "./Cipher.js"

export const encryptionKeysVariable = "CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS"

const keyFix =
  `give each entry exactly as the server's own ${encryptionKeysVariable} has it (a new key: \`openssl rand -base64 ${keyLength}\`)`

const invalid = (rule: string, fix: string) =>
  new InvalidConfiguration({ variables: [encryptionKeysVariable], rule, fix })

/**
 * The configured keys as ciphers, the primary first; empty when encryption is off. A repeated key, or
 * two keys with one digest (28 bits: rare, but the digest is how a stored value names its key), is
 * rejected.
 */
export const parseEncryptionKeys = (
  keys: Redacted.Redacted<string>
): Either.Either<ReadonlyArray<Cipher>, InvalidConfiguration> => {
  const text = Redacted.value(keys)
  if (text === "") return Either.right([])
  const entries = text.split(",")
  const position = (index: number) => `entry ${index + 1} of ${entries.length}`
  const ciphers: Array<Cipher> = []
  const seen = new Map<string, { readonly index: number; readonly bytes: Buffer }>()
  for (const [index, entry] of entries.entries()) {
    const bytes = decodeBase64Strict(entry)
    if (bytes === undefined) {
      return Either.left(invalid(
        `${
          position(index)
        } is not strict standard base64 (alphabet A-Z a-z 0-9 + /, "=" padding to a multiple of 4 characters, no spaces, no line breaks)`,
        `${keyFix}, and separate keys with a comma only`
      ))
    }
    const key = KeyBytes.option(bytes)
    if (Option.isNone(key)) {
      return Either.left(invalid(
        `${position(index)} decodes to ${bytes.length} bytes; an AES-256 key is ${keyLength} bytes`,
        keyFix
      ))
    }
    const cipher = makeCipher(key.value)
    const earlier = seen.get(cipher.digest)
    if (earlier !== undefined) {
      return Either.left(
        earlier.bytes.equals(bytes)
          ? invalid(`${position(index)} repeats ${position(earlier.index)}`, "list each key once")
          : invalid(
            `${position(index)} and ${
              position(earlier.index)
            } are different keys with the same digest ${cipher.digest}`,
            `replace ${position(index)} with a new key (\`openssl rand -base64 ${keyLength}\`)`
          )
      )
    }
    seen.set(cipher.digest, { index, bytes })
    ciphers.push(cipher)
  }
  return Either.right(ciphers)
}

/** The raw variable, redacted: unset reads as empty (no encryption). */
export const encryptionKeysConfig: Config.Config<Redacted.Redacted<string>> = Config.redacted(encryptionKeysVariable)
  .pipe(Config.withDefault(Redacted.make("")))

/** The configured keys, the primary first; empty when encryption is off. */
export const loadEncryptionKeys = Effect.flatMap(encryptionKeysConfig, parseEncryptionKeys)
