/**
 * `keys rotate`, `keys decrypt`, `keys delete` and `keys status` (issue 13). The three that change values
 * first say what they will change and ask on a terminal; `--yes` skips the question, and without a
 * terminal and without `--yes` they print the plan and refuse (exit 2), as `providers adopt` shows the
 * difference without `--yes` and writes nothing.
 */
import { Command, Options } from "@effect/cli"
import { Duration, Effect } from "effect"
import {
  applyKeyChange,
  KeyChangeReport,
  type KeyOperation,
  planKeyChange,
  targetOf,
  type ValueCount
} from "../admin/KeyChange.js"
import { KeyOperationRefused } from "../admin/KeyOperationRefused.js"
import { KeyStatus, keyStatus } from "../admin/KeyStatus.js"
import { encryptionStateText } from "../crypto/EncryptionState.js"
import { encryptedColumns } from "../db/EncryptedColumns.js"
import { withDatabase } from "./CommandContext.js"
import { databaseOptions, format } from "./CommonOptions.js"
import { answerTimeout, confirm } from "./Confirmation.js"
import { DatabaseServices } from "./DatabaseServices.js"
import { exitCodeHelp } from "./ExitCode.js"
import { print } from "./Output.js"
import { withCommandContext } from "./WithCommandContext.js"

const yes = Options.boolean("yes").pipe(
  Options.withDescription("Make the change without asking (required when there is no terminal to ask on)")
)

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`

const what: { readonly [Operation in KeyOperation]: (target: string | null) => string } = {
  rotate: (target) => `re-encrypted with key ${target}`,
  decrypt: () => "decrypted (stored as plaintext)",
  delete: () => "dropped, without being read (key rows deleted, settings cleared)"
}

/** A count of values, by where they are (`status`) or where they come from (a change). */
const valueLine = (count: ValueCount, from = false) =>
  `  ${plural(count.count, "value")} of ${count.column}, ${
    count.key === null
      ? from ? "from plaintext" : "stored as plaintext"
      : `${from ? "from key" : "encrypted with"} ${count.key}`
  }`

/** Which providers lose what to `keys delete`, and how to store it again. */
const restoreHint = (report: KeyChangeReport) => {
  const providers = [...new Set(report.lost.map((loss) => loss.provider))]
  const hint = encryptedColumns.map((column) =>
    column.whenLost === "delete row"
      ? `${column.name}: \`providers adopt NAME --yes --replace-keys\``
      : `${column.name}: \`providers adopt NAME --yes\``
  )
  return providers.length === 0 ? [] : [
    `Providers that ${report.applied ? "lost" : "would lose"} values (${providers.length}):`,
    ...report.lost.map((loss) => `  ${loss.provider}: ${plural(loss.count, "value")} of ${loss.column}`),
    `Restore them from the environment with the new keys configured: ${hint.join("; ")}.`
  ]
}

export const keyChangeText = (report: KeyChangeReport): string =>
  [
    report.applied
      ? `keys ${report.operation}: done${report.request_id === null ? "" : ` (audited, request ${report.request_id})`}.`
      : `keys ${report.operation} will change (nothing is written yet):`,
    report.values.length === 0
      ? "No value to change."
      : `Values ${report.applied ? "" : "to be "}${what[report.operation](report.target)}:`,
    ...report.values.map((count) => valueLine(count, true)),
    ...restoreHint(report),
    report.revoked.length === 0
      ? "No key to revoke."
      : `Keys ${report.applied ? "revoked" : "to revoke"}: ${report.revoked.join(", ")}.`,
    ...report.kept.map((kept) =>
      `Key ${kept.digest} stays active: ${
        kept.referenced_by.join(", ")
      } still use it (columns this program does not manage; re-encrypt them with the server's own command, then run this again).`
    )
  ].join("\n")

const confirmed = (plan: KeyChangeReport, format: "text" | "json") =>
  Effect.gen(function*() {
    const answer = yield* confirm(keyChangeText(plan), `Run keys ${plan.operation} now?`)
    if (answer === "yes") return
    if (answer === "no terminal") yield* print(KeyChangeReport, format, keyChangeText)(plan)
    return yield* new KeyOperationRefused({
      operation: plan.operation,
      reason: answer === "no terminal"
        ? "it was not confirmed: there is no terminal to ask on (stdin or stderr is not a terminal) and --yes was not given"
        : answer === "no answer"
        ? `it was not confirmed: no answer within ${Duration.format(answerTimeout)}`
        : "the operator did not confirm it",
      fix: `review what it will change (printed above), then run \`keys ${plan.operation} --yes\``
    })
  })

const changeCommand = (operation: KeyOperation, description: string) =>
  Command.make(operation, { yes, format, ...databaseOptions }, (options) =>
    // rotate without a key is refused before any database is chosen, started or connected to.
    Effect.flatMap(targetOf(operation), (target) =>
      Effect.gen(function*() {
        const lock = { timeout: options.lockTimeout }
        if (!options.yes) {
          const plan = yield* planKeyChange(operation, target, lock)
          if (plan.changes) yield* confirmed(plan, options.format)
        }
        return yield* applyKeyChange(operation, target, lock)
      }).pipe(
        Effect.flatMap(print(KeyChangeReport, options.format, keyChangeText)),
        withDatabase(options, DatabaseServices)
      ))).pipe(withCommandContext, Command.withDescription(`${description} ${exitCodeHelp()}`))

const date = (value: Date | null) => value === null ? "-" : value.toISOString()

export const keyStatusText = (status: KeyStatus): string =>
  [
    `Encryption at rest: ${encryptionStateText(status.encryption)}.`,
    status.keys.length === 0 ? "dbcrypt_keys: no key registered." : "dbcrypt_keys:",
    ...status.keys.map((key) =>
      `  #${key.number} ${key.digest} ${key.state}, created ${date(key.created_at)}${
        key.revoked_at === null ? "" : `, revoked ${date(key.revoked_at)}`
      }; configured: ${key.configured}; encrypts ${plural(key.values, "value")}`
    ),
    ...(status.unregistered.length === 0 ? [] : [
      `Configured but not registered yet (the next write registers the primary): ${status.unregistered.join(", ")}.`
    ]),
    "Values:",
    ...(status.values.length === 0 ? ["  none stored"] : status.values.map((count) => valueLine(count))),
    `Plaintext values: ${status.plaintext}.`
  ].join("\n")

const statusCommand = Command.make(
  "status",
  { format, ...databaseOptions },
  (options) =>
    keyStatus({ timeout: options.lockTimeout }).pipe(
      Effect.flatMap(print(KeyStatus, options.format, keyStatusText)),
      withDatabase(options, DatabaseServices)
    )
).pipe(
  withCommandContext,
  Command.withDescription(
    "Show the encryption keys registered in dbcrypt_keys (digest, active or revoked, dates, whether configured), how many values each encrypts, and how many are plaintext; no secret"
  )
)

export const keysCommand = Command.make("keys").pipe(
  Command.withDescription(
    "Encryption at rest (CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS): rotate, decrypt, delete values of lost keys, status"
  ),
  Command.withSubcommands([
    changeCommand(
      "rotate",
      "Re-encrypt every stored secret (keys and Bedrock settings, of every provider) with the first key of CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS, then revoke every other key. The old keys must be configured after it. Under the seed lock, in one transaction, audited."
    ),
    changeCommand(
      "decrypt",
      "Store every secret as plaintext, then revoke every key (unset CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS afterwards). Under the seed lock, in one transaction, audited."
    ),
    changeCommand(
      "delete",
      "For lost keys: delete every encrypted bearer key and clear every encrypted Bedrock setting, then revoke every key; reports which providers lost what. Runs without the keys. Under the seed lock, in one transaction, audited."
    ),
    statusCommand
  ])
)
