/**
 * The run's encryption keys: TEST_ENCRYPTION_KEYS (CI runs the suite once with keys, once without), else
 * none. Every way a test runs the program (in-process CLI, child process, test layers) gets the same keys,
 * so every secret scan runs with encryption on in the encrypted run.
 */
import { ConfigProvider, Layer } from "effect"
import { Encryption } from "../../src/crypto/Encryption.js"
import { encryptionKeysVariable } from "../../src/crypto/EncryptionKeys.js"

/** The encryption keys of this run ("" for none), as the program reads them from its environment. */
export const encryptionKeys = process.env["TEST_ENCRYPTION_KEYS"] ?? ""

/** The environment variable that gives the program under test this run's keys (none when unset). */
export const encryptionEnvironment: Readonly<Record<string, string>> = encryptionKeys === ""
  ? {}
  : { [encryptionKeysVariable]: encryptionKeys }

export const encryptionLayer = Encryption.layer.pipe(
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(encryptionEnvironment))))),
  Layer.orDie
)
