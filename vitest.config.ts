import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/consumer/**"],
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Most integration tests wait on PostgreSQL and child processes, not on a core: three files at a time on
    // two cores (vitest's default is one worker fewer than cores, so a single file at a time here).
    pool: "forks",
    poolOptions: { forks: { minForks: 1, maxForks: 3 } }
  }
})
