import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { derive } from "../core/DesiredProviders.js"
import { ProviderEnvironment } from "../core/ProviderEnvironment.js"
import { configReport, configText } from "./ConfigReport.js"
import { withEnvFile } from "./EnvFile.js"
import { logFormat, loggerLayer } from "./Logging.js"

export const format = Options.choice("format", ["text", "json"]).pipe(
  Options.withDefault("text"),
  Options.withDescription("Output format: text for people, json for tools (stable, documented in the README)")
)

export const envFile = Options.file("env-file", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription("A dotenv file (KEY=VALUE lines) merged under the real environment: the environment wins")
)

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
