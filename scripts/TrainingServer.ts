/**
 * A scripted PostgreSQL for the code cache's training run (scripts/build.ts): it speaks the wire protocol
 * well enough for a seed on a current schema that holds one provider, `storedProvider`, and lacks the
 * other (trust authentication, BEGIN, the transaction's settings and the lock in one message, the probe
 * with the load, the inserts, COMMIT). Training against it puts what a seed compiles after connecting into
 * the cache too, for a stored provider (decoded, unchanged) as for a missing one (inserted); against a
 * server that hung up, that was about 6 % of a no-op start. No database is needed to build.
 */
import { Effect } from "effect"
import * as Net from "node:net"
import { defaultBaseUrls } from "../src/core/Provider.js"
import { statementsOf } from "./SqlStatements.js"

const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff])
const int32 = (n: number) => {
  const buffer = Buffer.alloc(4)
  buffer.writeInt32BE(n)
  return buffer
}
const text = (value: string) => Buffer.from(`${value}\0`, "utf8")
const message = (type: string, ...parts: ReadonlyArray<Buffer>) => {
  const payload = Buffer.concat(parts)
  return Buffer.concat([Buffer.from(type), int32(payload.length + 4), payload])
}

const textType = 25
const int4Type = 23
const jsonType = 114

interface Rows {
  readonly columns: ReadonlyArray<readonly [name: string, type: number]>
  /** One row; null is SQL NULL. */
  readonly values: ReadonlyArray<string | null>
}

/** The provider the scripted database holds; the training environment configures it, unchanged. */
export const storedProvider = { name: "trained", type: "openai", key: "sk-trained-0123456789abcdef" } as const

const rowDescription = ({ columns }: Rows) =>
  message(
    "T",
    int16(columns.length),
    ...columns.map(([name, type]) =>
      Buffer.concat([text(name), int32(0), int16(0), int32(type), int16(-1), int32(-1), int16(0)])
    )
  )

const dataRow = ({ values }: Rows) =>
  message(
    "D",
    int16(values.length),
    ...values.map((value) =>
      value === null ? int32(-1) : Buffer.concat([int32(Buffer.byteLength(value)), Buffer.from(value)])
    )
  )

/** `storedProvider` as the load's JSON gives it. */
const storedProviders = JSON.stringify([{
  id: "00000000-0000-4000-8000-000000000001",
  type: storedProvider.type,
  name: storedProvider.name,
  display_name: null,
  enabled: true,
  deleted: false,
  base_url: defaultBaseUrls[storedProvider.type],
  settings: null,
  settings_key_id: null,
  keys: [storedProvider.key],
  key_ids: [null]
}])

/**
 * What a statement returns: the lock, the probe (with the load of `storedProvider` beside it, or alone),
 * and the transaction's settings have rows, the rest none.
 */
const rowsOf = (query: string, schemaVersion: number): Rows | undefined => {
  if (query.includes("advisory_xact_lock")) return { columns: [["locked", textType]], values: [""] }
  if (query.includes("as schema_version")) {
    const read = query.includes("as read")
    return {
      columns: [["schema_version", int4Type], ["key_rows", jsonType], ...(read ? [["read", jsonType] as const] : [])],
      values: [String(schemaVersion), "[]", ...(read ? [storedProviders] : [])]
    }
  }
  if (query.includes("as providers")) return { columns: [["providers", jsonType]], values: [storedProviders] }
  const settings = query.match(/set_config\(/g)?.length ?? 0
  return settings === 0 ? undefined : {
    columns: Array.from({ length: settings }, () => ["set_config", textType] as const),
    values: Array.from({ length: settings }, () => "")
  }
}

const commandTag = (query: string) => {
  const verb = query.trim().split(/\s+/)[0]?.toUpperCase() ?? ""
  return verb === "INSERT" || verb === "WITH" ? "INSERT 0 1" : verb === "SELECT" ? "SELECT 0" : verb
}

/** A statement's answer: its rows (if any) and its command tag, worked out once per statement. */
interface Answer {
  readonly rows: Rows | undefined
  readonly tag: string
}

const answerOf = (query: string, schemaVersion: number): Answer => ({
  rows: rowsOf(query, schemaVersion),
  tag: commandTag(query)
})

/** One client's conversation: the startup message, then typed messages, answered in order. */
const converse = (socket: Net.Socket, schemaVersion: number) => {
  let pending = Buffer.alloc(0)
  let started = false
  let inTransaction = false
  let prepared: Answer = { rows: undefined, tag: "" }
  const send = (...messages: ReadonlyArray<Buffer>) => socket.write(Buffer.concat(messages))
  const ready = () => message("Z", Buffer.from(inTransaction ? "T" : "I"))
  const answer = (type: string, body: Buffer) => {
    switch (type) {
      case "Q": {
        // A simple query may hold several statements (BEGIN, the settings and the lock): each is answered.
        const answers = statementsOf(body.toString("utf8", 0, body.length - 1)).flatMap((query) => {
          const verb = query.trim().toUpperCase()
          if (verb.startsWith("BEGIN")) inTransaction = true
          if (verb === "COMMIT" || verb === "ROLLBACK") inTransaction = false
          const { rows, tag } = answerOf(query, schemaVersion)
          return [...(rows === undefined ? [] : [rowDescription(rows), dataRow(rows)]), message("C", text(tag))]
        })
        return send(...answers, ready())
      }
      case "P": {
        const nameEnd = body.indexOf(0)
        prepared = answerOf(body.toString("utf8", nameEnd + 1, body.indexOf(0, nameEnd + 1)), schemaVersion)
        return send(message("1"))
      }
      case "B":
        return send(message("2"))
      case "D":
        return send(prepared.rows === undefined ? message("n") : rowDescription(prepared.rows))
      case "E":
        return send(...(prepared.rows === undefined ? [] : [dataRow(prepared.rows)]), message("C", text(prepared.tag)))
      case "C":
        return send(message("3"))
      case "S":
        return send(ready())
      case "X":
        return socket.end()
      default:
        return undefined
    }
  }
  socket.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk])
    for (;;) {
      if (!started) {
        if (pending.length < 4 || pending.length < pending.readInt32BE(0)) return
        pending = pending.subarray(pending.readInt32BE(0))
        started = true
        send(
          message("R", int32(0)),
          message("S", text("server_version"), text("15.0")),
          message("S", text("client_encoding"), text("UTF8")),
          message("S", text("standard_conforming_strings"), text("on")),
          message("K", int32(1), int32(1)),
          ready()
        )
        continue
      }
      if (pending.length < 5 || pending.length < 1 + pending.readInt32BE(1)) return
      const length = pending.readInt32BE(1)
      answer(String.fromCharCode(pending[0] ?? 0), pending.subarray(5, 1 + length))
      pending = pending.subarray(1 + length)
    }
  })
  socket.on("error", () => socket.destroy())
}

/** Listens on a free port of 127.0.0.1 for the scope's lifetime. */
export const trainingServer = (schemaVersion: number) => {
  const sockets = new Set<Net.Socket>()
  return Effect.acquireRelease(
    Effect.async<Net.Server, Error>((resume) => {
      const server = Net.createServer((socket) => {
        sockets.add(socket.once("close", () => sockets.delete(socket)))
        converse(socket, schemaVersion)
      })
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    // A client that is still connected (a training run killed midway) does not hold the build.
    (server) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  )
}
