import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { derive } from "../core/DesiredProviders.js"
import { ProviderEnvironment } from "../core/ProviderEnvironment.js"
import { envFile, format } from "./CommonOptions.js"
import { configReport, configText } from "./ConfigReport.js"
import { withEnvFile } from "./EnvFile.js"
import { logFormat, loggerLayer } from "./Logging.js"

/** `config`: derive the desired providers from the environment and print them, keys masked. No database. */
export const configCommand = Command.make("config", { format, envFile, logFormat }, (options) =>
  derive.pipe(
    Effect.provide(ProviderEnvironment.layer),
    Effect.map(configReport),
    Effect.flatMap((report) =>
      Console.log(options.format === "json" ? JSON.stringify(report, null, 2) : configText(report))
    ),
    withEnvFile(options.envFile),
    Effect.provide(loggerLayer(options.logFormat))
  )).pipe(
    Command.withDescription(
      "Print the AI providers the environment describes (legacy CODER_AIBRIDGE_* and indexed CODER_AIBRIDGE_PROVIDER_<N>_*), keys masked, without touching the database"
    )
  )
