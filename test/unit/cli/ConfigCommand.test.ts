import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { runCli } from "../../support/runCli.js"

/** A fixed encryption key, and its digest computed here (SHA-256 of "aes256gcm" and the raw key, 7 hex characters). */
const encryptionKey = Buffer.alloc(32, 0x5a).toString("base64")
const encryptionDigest = createHash("sha256")
  .update(Buffer.concat([Buffer.from("aes256gcm", "ascii"), Buffer.from(encryptionKey, "base64")]))
  .digest("hex")
  .slice(0, 7)

const env = {
  CODER_AIBRIDGE_OPENAI_KEY: "sk-proj-abcdefghijklmnopqrstuvwxyz",
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "anthropic",
  CODER_AIBRIDGE_PROVIDER_0_NAME: "bedrock-eu",
  CODER_AIBRIDGE_PROVIDER_0_BEDROCK_ACCESS_KEY: "AKIAIOSFODNN7EXAMPLE",
  CODER_AIBRIDGE_PROVIDER_0_BEDROCK_ACCESS_KEY_SECRET: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  CODER_AIBRIDGE_PROVIDER_0_BEDROCK_REGION: "eu-central-1",
  CODER_AIBRIDGE_PROVIDER_1_TYPE: "copilot",
  CODER_AIBRIDGE_PROVIDER_1_KEY: "ghp_abcdefghijklmnopqrstu",
  CODER_AIBRIDGE_PROVIDER_2_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_2_NAME: "gateway",
  CODER_AIBRIDGE_PROVIDER_2_KEYS: "key-one-1234567, key-two-7654321",
  CODER_AIBRIDGE_PROVIDER_2_KEY_TYPO: "x"
}

const secrets = [
  "sk-proj-abcdefghijklmnopqrstuvwxyz",
  "AKIAIOSFODNN7EXAMPLE",
  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "ghp_abcdefghijklmnopqrstu",
  "key-one-1234567",
  "key-two-7654321"
]

describe("config", () => {
  it.effect("--format json prints the stable report, secrets masked", () =>
    Effect.gen(function*() {
      const outcome = yield* runCli(["config", "--format", "json"], {
        ...env,
        CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: encryptionKey
      })
      expect(outcome.code).toBe(0)
      expect(JSON.parse(outcome.stdout)).toEqual({
        providers: [
          {
            name: "bedrock-eu",
            type: "anthropic",
            source: [
              "CODER_AIBRIDGE_PROVIDER_0_BEDROCK_ACCESS_KEY",
              "CODER_AIBRIDGE_PROVIDER_0_BEDROCK_ACCESS_KEY_SECRET",
              "CODER_AIBRIDGE_PROVIDER_0_BEDROCK_REGION",
              "CODER_AIBRIDGE_PROVIDER_0_NAME",
              "CODER_AIBRIDGE_PROVIDER_0_TYPE"
            ],
            base_url: "https://api.anthropic.com/",
            keys: [],
            bedrock: {
              region: "eu-central-1",
              model: "",
              small_fast_model: "",
              base_url: "",
              access_key: "AKIA...MPLE",
              access_key_secret: "wJal...EKEY"
            }
          },
          {
            name: "gateway",
            type: "openai",
            source: [
              "CODER_AIBRIDGE_PROVIDER_2_KEYS",
              "CODER_AIBRIDGE_PROVIDER_2_NAME",
              "CODER_AIBRIDGE_PROVIDER_2_TYPE"
            ],
            base_url: "https://api.openai.com/v1/",
            keys: ["ke...67", "ke...21"],
            bedrock: null
          },
          {
            name: "openai",
            type: "openai",
            source: ["CODER_AIBRIDGE_OPENAI_KEY"],
            base_url: "https://api.openai.com/v1/",
            keys: ["sk-p...wxyz"],
            bedrock: null
          }
        ],
        skipped: [{
          name: "copilot",
          type: "copilot",
          source: ["CODER_AIBRIDGE_PROVIDER_1_KEY", "CODER_AIBRIDGE_PROVIDER_1_TYPE"]
        }],
        warnings: [
          expect.stringContaining("CODER_AIBRIDGE_PROVIDER_2_KEY_TYPO ignored"),
          expect.stringContaining("CODER_AIBRIDGE_PROVIDER_1_TYPE: provider type \"copilot\"")
        ],
        encryption: { enabled: true, primary_digest: encryptionDigest }
      })
      expect(outcome.logs).toContain("level=WARN")
      for (const secret of [...secrets, encryptionKey]) expect(outcome.all).not.toContain(secret)
    }))

  it.effect("text format is the default and lists providers, skipped and warnings", () =>
    Effect.gen(function*() {
      const outcome = yield* runCli(["config"], { ...env, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: encryptionKey })
      expect(outcome.code).toBe(0)
      expect(outcome.stdout).toContain(`Encryption at rest: on (primary key ${encryptionDigest})`)
      expect(outcome.stdout).toContain("Providers (3):")
      expect(outcome.stdout).toContain("  bedrock-eu (anthropic)")
      expect(outcome.stdout).toContain("access_key AKIA...MPLE")
      expect(outcome.stdout).toContain("keys:     ke...67, ke...21")
      expect(outcome.stdout).toContain("Skipped (1):")
      expect(outcome.stdout).toContain("Warnings (2):")
      for (const secret of secrets) expect(outcome.all).not.toContain(secret)
    }))

  it.effect("an empty environment says nothing would be seeded", () =>
    Effect.gen(function*() {
      const noKeys = { CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: "" }
      const outcome = yield* runCli(["config"], noKeys)
      expect(outcome.code).toBe(0)
      expect(outcome.stdout).toContain("nothing would be seeded")
      expect(outcome.stdout).toContain("Encryption at rest: off")
      const json = yield* runCli(["config", "--format", "json"], noKeys)
      expect(JSON.parse(json.stdout)).toEqual({
        providers: [],
        skipped: [],
        warnings: [],
        encryption: { enabled: false, primary_digest: null }
      })
    }))

  it.effect("--dotenv (or its alias --env-file) is merged under the environment: the environment wins", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const path = `${dir}/providers.env`
      yield* fs.writeFileString(
        path,
        [
          "# providers",
          "CODER_AIBRIDGE_PROVIDER_0_TYPE=openai",
          "CODER_AIBRIDGE_PROVIDER_0_NAME=from-file",
          "CODER_AIBRIDGE_PROVIDER_0_KEY=\"sk-file-abcdefghijkl\"",
          "CODER_AIBRIDGE_ANTHROPIC_KEY='sk-ant-file-abcdefghijkl'"
        ].join("\n")
      )
      const outcome = yield* runCli(["config", "--format", "json", "--env-file", path], {
        CODER_AIBRIDGE_PROVIDER_0_NAME: "from-env"
      })
      expect(outcome.code).toBe(0)
      const report = JSON.parse(outcome.stdout)
      expect(report.providers.map((p: { name: string }) => p.name)).toEqual(["anthropic", "from-env"])
      expect(outcome.all).not.toContain("sk-file-abcdefghijkl")
      expect(outcome.all).not.toContain("sk-ant-file-abcdefghijkl")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))

  it.effect("a malformed env file exits 2 naming the file and line, without its content", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const path = `${dir}/bad.env`
      yield* fs.writeFileString(path, "CODER_AIBRIDGE_OPENAI_KEY=\"sk-unclosed-abcdefghijkl\n")
      const outcome = yield* runCli(["config", "--env-file", path], {})
      expect(outcome.code).toBe(2)
      expect(outcome.stderr).toContain(`${path}:1`)
      expect(outcome.all).not.toContain("sk-unclosed-abcdefghijkl")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))

  it.effect("a missing env file is a usage error", () =>
    Effect.gen(function*() {
      const outcome = yield* runCli(["config", "--env-file", "/nonexistent/providers.env"], {})
      expect(outcome.code).toBe(2)
      expect(outcome.stderr).toContain("/nonexistent/providers.env")
    }))

  it.effect("an unknown format or option is a usage error", () =>
    Effect.gen(function*() {
      expect((yield* runCli(["config", "--format", "yaml"])).code).toBe(2)
      expect((yield* runCli(["config", "--frobnicate"])).code).toBe(2)
      expect((yield* runCli(["nonsense"])).code).toBe(2)
    }))

  it.effect("--help describes the command and its options", () =>
    Effect.gen(function*() {
      const outcome = yield* runCli(["config", "--help"])
      expect(outcome.code).toBe(0)
      expect(outcome.stdout).toContain("--format")
      expect(outcome.stdout).toContain("--env-file")
      expect(outcome.stdout).toContain("CODER_AIBRIDGE_PROVIDER_<N>_*")
    }))
})
