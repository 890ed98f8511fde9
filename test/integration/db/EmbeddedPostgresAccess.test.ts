/**
 * Who can connect to the embedded server (issue 11.3): only its owner, who has the password kept in the
 * data directory (0600); another OS user can neither connect (no password, a wrong one, another role)
 * nor read the data directory. The negative checks have a positive control: the same command with the
 * right password works, so they fail for the right reason.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { statSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { hbaFileName, passwordFileName } from "../../../src/db/embedded/Credentials.js"
import {
  isRoot,
  ownerClient,
  passwordOf,
  reachableTempDir,
  remove,
  startServer
} from "../../support/EmbeddedServers.js"

interface Outcome {
  readonly code: number
  readonly output: string
}

/** Runs a command, as `nobody` when asked (we are root then), bounded; never throws. */
const run = (file: string, args: ReadonlyArray<string>, options: { nobody?: boolean; password?: string } = {}) =>
  new Promise<Outcome>((resolve) => {
    const [command, commandArgs] = options.nobody === true
      ? ["setpriv", ["--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--", file, ...args]]
      : [file, args]
    execFile(
      command,
      commandArgs,
      {
        timeout: 30_000,
        // A directory every user can enter (a checkout may be in root's 0700 home).
        cwd: "/",
        env: {
          PATH: process.env["PATH"] ?? "",
          HOME: "/tmp",
          ...(options.password === undefined ? {} : { PGPASSWORD: options.password })
        }
      },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: stdout + stderr })
    )
  })

const psql = (port: number, user = "postgres") => [
  "-X",
  "-w",
  "-At",
  "-c",
  "select 1",
  `host=127.0.0.1 port=${port} user=${user} dbname=postgres sslmode=disable gssencmode=disable connect_timeout=20`
]

describe("access to the embedded server", () => {
  it.skipIf(!isRoot)("another OS user can neither connect to it nor read its data directory", async () => {
    const parent = await reachableTempDir("seed-embedded-access-")
    const dataDir = Path.join(parent, "postgres")
    const server = await startServer(dataDir)
    try {
      const password = passwordOf(dataDir)
      // The control: with the password, nobody could connect, so the refusals below are about the password.
      expect(await run("psql", psql(server.port), { nobody: true, password })).toEqual({ code: 0, output: "1\n" })

      const none = await run("psql", psql(server.port), { nobody: true })
      expect(none.code).not.toBe(0)
      expect(none.output).toContain("no password supplied")
      const wrong = await run("psql", psql(server.port), { nobody: true, password: "not-the-password" })
      expect(wrong.code).not.toBe(0)
      expect(wrong.output).toContain(`password authentication failed for user "postgres"`)
      const otherRole = await run("psql", psql(server.port, "nobody"), { nobody: true, password: "x" })
      expect(otherRole.code).not.toBe(0)
      expect(otherRole.output).toContain(`password authentication failed for user "nobody"`)

      for (const [file, args] of [["ls", [dataDir]], ["cat", [Path.join(dataDir, passwordFileName)]]] as const) {
        const denied = await run(file, args, { nobody: true })
        expect(denied.code, `${file} as nobody`).not.toBe(0)
        expect(denied.output).toContain("Permission denied")
      }
      const stat = statSync(Path.join(dataDir, passwordFileName))
      expect(stat.mode & 0o777).toBe(0o600)
      expect(statSync(dataDir).mode & 0o077).toBe(0)

      const owner = await ownerClient(dataDir, server.port)
      const { rows } = await owner.query<{ trust: number; hba: string; sockets: string; listen: string }>(
        `select (select count(*)::int from pg_hba_file_rules where auth_method in ('trust', 'password', 'ident', 'peer'))
           as trust, current_setting('hba_file') as hba, current_setting('unix_socket_directories') as sockets,
           current_setting('listen_addresses') as listen`
      )
      await owner.end()
      expect(rows).toEqual([{ trust: 0, hba: Path.join(dataDir, hbaFileName), sockets: "", listen: "127.0.0.1" }])
    } finally {
      await server.stop()
      await remove(parent)
    }
  }, 120_000)

  it("a data directory from before passwords (trust) gets a password at its next start, then requires it", async () => {
    const parent = await reachableTempDir("seed-embedded-access-")
    const dataDir = Path.join(parent, "postgres")
    try {
      // What an earlier version left: a superuser without a password, trust in pg_hba.conf, no files of ours.
      const first = await startServer(dataDir)
      const old = await ownerClient(dataDir, first.port)
      await old.query("alter role postgres password null")
      await old.end()
      await first.stop()
      const oldPassword = passwordOf(dataDir)
      await Fs.rm(Path.join(dataDir, passwordFileName))
      await Fs.rm(Path.join(dataDir, hbaFileName))
      await Fs.writeFile(Path.join(dataDir, "pg_hba.conf"), "host all all 127.0.0.1/32 trust\n")

      const server = await startServer(dataDir)
      try {
        const password = passwordOf(dataDir)
        expect(password).not.toBe(oldPassword)
        expect(statSync(Path.join(dataDir, passwordFileName)).mode & 0o777).toBe(0o600)
        expect((await run("psql", psql(server.port), { password })).code).toBe(0)
        const none = await run("psql", psql(server.port))
        expect(none.code).not.toBe(0)
        expect(none.output).toContain("no password supplied")
      } finally {
        await server.stop()
      }
    } finally {
      await remove(parent)
    }
  }, 120_000)
})
