import { describe, expect, it } from "@effect/vitest"
import * as LockIds from "../../../src/core/LockIds.js"

describe("LockIds", () => {
  it("keeps the lock.go ids in declaration order from 1", () => {
    expect([
      LockIds.LockIDDeploymentSetup,
      LockIds.LockIDEnterpriseDeploymentSetup,
      LockIds.LockIDDBRollup,
      LockIds.LockIDDBPurge,
      LockIds.LockIDNotificationsReportGenerator,
      LockIds.LockIDCryptoKeyRotation,
      LockIds.LockIDReconcilePrebuilds,
      LockIds.LockIDReconcileSystemRoles,
      LockIds.LockIDBoundaryUsageStats,
      LockIds.LockIDAIProvidersEnvSeed
    ]).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n])
  })

  it("matches the vectors of the spec", () => {
    expect(LockIds.genLockId("a")).toBe(-5808590958014384194n)
    expect(LockIds.genLockId("foobar")).toBe(3750802935296928194n)
  })

  // Computed independently with Python:
  // def fnv1(s):
  //   h = 0xcbf29ce484222325
  //   for b in s.encode(): h = (h * 0x100000001b3) & 0xffffffffffffffff; h ^= b
  //   return h - (1 << 64) if h >= 1 << 63 else h
  it.each([
    ["", -3750763034362895579n],
    ["ai-provider-seed", -8895044629015768301n],
    ["LockIDAIProvidersEnvSeed", -920795787815090775n],
    ["héllo", -8165444915542879458n],
    ["日本", 7579371009098420677n]
  ])("genLockId(%j) = %s", (name, expected) => {
    expect(LockIds.genLockId(name)).toBe(expected)
  })

  it("stays within the signed 64-bit range", () => {
    for (const name of ["x", "zz", "a long lock name", "🔒"]) {
      const id = LockIds.genLockId(name)
      expect(id >= -(2n ** 63n) && id < 2n ** 63n).toBe(true)
    }
  })
})
