import { Command } from "@effect/cli"
import { Effect } from "effect"
import { currentEncryptionState } from "../crypto/EncryptionState.js"
import { derive } from "../env/DesiredProviders.js"
import { commonOptions, format } from "./CommonOptions.js"
import { ConfigReport, configText } from "./ConfigReport.js"
import { print } from "./Output.js"
import { withCommandContext } from "./WithCommandContext.js"

/** `config`: derive the desired providers from the environment and print them, keys masked. No database. */
export const configCommand = Command.make(
  "config",
  { format, ...commonOptions },
  (options) =>
    Effect.zipWith(derive, currentEncryptionState, ConfigReport.fromDesired).pipe(
      Effect.flatMap(print(ConfigReport, options.format, configText))
    )
).pipe(
  withCommandContext,
  Command.withDescription(
    "Print the AI providers the environment describes (legacy CODER_AIBRIDGE_* and indexed CODER_AIBRIDGE_PROVIDER_<N>_*), keys masked, without touching the database"
  )
)
