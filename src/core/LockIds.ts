/**
 * Port of coderd/database/lock.go: well-known advisory lock ids and `GenLockID`.
 * The ids are shared with Go servers, so they must never change or be reused.
 */

/** Stable lock ids, in the declaration order of lock.go (Go `iota + 1`). */
export const LockIDDeploymentSetup = 1n
export const LockIDEnterpriseDeploymentSetup = 2n
export const LockIDDBRollup = 3n
export const LockIDDBPurge = 4n
export const LockIDNotificationsReportGenerator = 5n
export const LockIDCryptoKeyRotation = 6n
export const LockIDReconcilePrebuilds = 7n
export const LockIDReconcileSystemRoles = 8n
export const LockIDBoundaryUsageStats = 9n
export const LockIDAIProvidersEnvSeed = 10n

const fnvOffsetBasis = 0xcbf29ce484222325n
const fnvPrime = 0x100000001b3n
const utf8 = new TextEncoder()

/**
 * 64-bit FNV-1 (multiply, then xor: not FNV-1a) of the UTF-8 bytes, read as a
 * signed 64-bit integer like Go's `int64(hash.Sum64())`. A bigint, because
 * JS numbers cannot hold 64-bit ids exactly.
 */
export const genLockId = (name: string): bigint => {
  let hash = fnvOffsetBasis
  for (const byte of utf8.encode(name)) {
    hash = BigInt.asUintN(64, hash * fnvPrime) ^ BigInt(byte)
  }
  return BigInt.asIntN(64, hash)
}
