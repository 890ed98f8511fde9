/**
 * The embedded server admits only its owner: the superuser has a random password, generated when the data
 * directory is created and kept in it (mode 0600, readable only by the server user and root), and the
 * server reads the access rules from our own file (passed as `hba_file`), which allows a role only with
 * its password (scram-sha-256) over loopback TCP and nothing else: the superuser, and any role the owner
 * creates with a password of its own. It has no Unix socket.
 */
import { Duration, Effect } from "effect"
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto"
import { constants } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import type { Binaries } from "./Binaries.js"
import { EmbeddedPostgresError, reasonOf } from "./Errors.js"
import { command, run, type ServerUser } from "./ServerUser.js"

export const superuser = "postgres"
export const passwordFileName = "ai-provider-seed.password"
export const hbaFileName = "ai-provider-seed.hba.conf"

export const hbaRules = [
  "# Written by ai-provider-seed, which starts the server with hba_file pointing here: a role with its",
  "# password only (the superuser's is kept in ai-provider-seed.password), over loopback TCP. No Unix socket.",
  "host all all 127.0.0.1/32 scram-sha-256",
  ""
].join("\n")

/** 32 characters from the URL-safe alphabet: fits in a URL unescaped. */
export const generatePassword = () => randomBytes(24).toString("base64url")

const passwordPattern = /^[A-Za-z0-9_-]{32,}$/

/**
 * Writes a file only its owner can read, safely in a directory the server user owns: a fresh name that
 * cannot be a planted link (O_EXCL, O_NOFOLLOW), given to the server user, then renamed over the old one.
 */
export const writePrivateFile = async (dir: string, name: string, content: string, user: ServerUser) => {
  const temporary = Path.join(dir, `.${name}.${randomBytes(6).toString("hex")}`)
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
  const handle = await Fs.open(temporary, flags, 0o600)
  try {
    await handle.writeFile(content)
    await handle.sync()
    if (user.switchTo !== undefined) await handle.chown(user.switchTo.uid, user.switchTo.gid)
  } finally {
    await handle.close()
  }
  await Fs.rename(temporary, Path.join(dir, name))
}

const readPrivateFile = async (path: string): Promise<string | undefined> => {
  try {
    const handle = await Fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW)
    try {
      return await handle.readFile("utf8")
    } finally {
      await handle.close()
    }
  } catch {
    return undefined
  }
}

/** The stored password, when the file is there and well formed. */
export const readPassword = async (dataDir: string): Promise<string | undefined> => {
  const password = (await readPrivateFile(Path.join(dataDir, passwordFileName)))?.trim()
  return password !== undefined && passwordPattern.test(password) ? password : undefined
}

/** The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802, RFC 7677): never the password itself. */
export const scramVerifier = (password: string, iterations = 4096) => {
  const salt = randomBytes(16)
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256")
  const clientKey = createHmac("sha256", salted).update("Client Key").digest()
  const storedKey = createHash("sha256").update(clientKey).digest()
  const serverKey = createHmac("sha256", salted).update("Server Key").digest()
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${
    serverKey.toString("base64")
  }`
}

/**
 * The superuser's password, making sure the data directory has it and the access rules. A data directory
 * created before passwords existed (or whose password file was removed) gets a new one: set through
 * single-user mode, so no connection is ever accepted without it. Call only while no server runs on it.
 */
export const ensureCredentials = Effect.fn("EmbeddedPostgres.ensureCredentials")(function*(
  bin: Binaries,
  dataDir: string,
  user: ServerUser
) {
  const failure = (cause: unknown) =>
    new EmbeddedPostgresError({
      step: "credentials",
      dataDir,
      reason: `cannot set the superuser's password: ${reasonOf(cause)}`,
      fix: "check that the data directory belongs to the server user and is writable, then run again"
    })
  const stored = yield* Effect.promise(() => readPassword(dataDir))
  const rules = yield* Effect.promise(() => readPrivateFile(Path.join(dataDir, hbaFileName)))
  if (rules !== hbaRules) {
    yield* Effect.tryPromise({
      try: () => writePrivateFile(dataDir, hbaFileName, hbaRules, user),
      catch: failure
    })
  }
  if (stored !== undefined) return stored
  yield* Effect.logWarning("the embedded PostgreSQL data directory has no password yet: setting one").pipe(
    Effect.annotateLogs({ dataDir })
  )
  const password = generatePassword()
  // Single-user mode: no listener, nothing else connects. The verifier, not the password, goes to stdin,
  // and a failing statement is not echoed to the log.
  const finished = yield* run(
    command(user, "SIGKILL", bin.postgres, [
      "--single",
      "-D",
      dataDir,
      "-c",
      "log_min_error_statement=panic",
      "-c",
      "log_min_messages=warning",
      superuser
    ]),
    {
      timeout: Duration.seconds(60),
      input: `ALTER ROLE ${superuser} PASSWORD '${scramVerifier(password)}';\n`,
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" }
    }
  ).pipe(Effect.mapError(failure))
  if (/\b(ERROR|FATAL|PANIC):/.test(finished.stderr)) return yield* failure(finished.stderr.trim())
  yield* Effect.tryPromise({ try: () => writePrivateFile(dataDir, passwordFileName, password, user), catch: failure })
  return password
})
