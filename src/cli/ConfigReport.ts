/** `config`'s report: the desired set through the masked view (JSON shape documented in the README). */
import { Schema } from "effect"
import { maskedFields, maskProvider } from "../core/MaskedProvider.js"
import { type DesiredSet, SkippedProvider } from "../core/Provider.js"
import { EncryptionState, encryptionStateText } from "../crypto/EncryptionState.js"

export class ConfiguredProvider extends Schema.Class<ConfiguredProvider>("ConfiguredProvider")({
  ...maskedFields,
  source: Schema.Array(Schema.String)
}) {}

export class ConfigReport extends Schema.Class<ConfigReport>("ConfigReport")({
  providers: Schema.Array(ConfiguredProvider),
  skipped: Schema.Array(SkippedProvider),
  warnings: Schema.Array(Schema.String),
  /** Whether values are encrypted at rest, and with which key (its digest, never the key). */
  encryption: EncryptionState
}) {
  static readonly fromDesired = (set: DesiredSet, encryption: EncryptionState) =>
    new ConfigReport({
      providers: set.providers.map((provider) =>
        new ConfiguredProvider({ ...maskProvider(provider), source: provider.source }, true)
      ),
      skipped: set.skipped,
      warnings: set.warnings,
      encryption
    }, true)
}

const orNone = (value: string) => value === "" ? "(none)" : value

const providerText = (provider: ConfiguredProvider): Array<string> => [
  `  ${provider.name} (${provider.type})`,
  `    source:   ${provider.source.join(", ")}`,
  `    base_url: ${provider.base_url}`,
  `    keys:     ${provider.keys.length === 0 ? "(none)" : provider.keys.join(", ")}`,
  ...(provider.bedrock === null ? [] : [
    `    bedrock:  ${Object.entries(provider.bedrock).map(([field, value]) => `${field} ${orNone(value)}`).join(", ")}`
  ])
]

/** The report for people: one block per provider, then skipped providers and warnings. */
export const configText = (report: ConfigReport): string =>
  [
    `Providers (${report.providers.length}):`,
    ...(report.providers.length === 0 ? ["  (none: nothing would be seeded)"] : report.providers.flatMap(providerText)),
    ...(report.skipped.length === 0 ? [] : [
      `Skipped (${report.skipped.length}):`,
      ...report.skipped.map((s) => `  ${s.name} (${s.type}): type not supported yet; from ${s.source.join(", ")}`)
    ]),
    ...(report.warnings.length === 0 ? [] : [
      `Warnings (${report.warnings.length}):`,
      ...report.warnings.map((warning) => `  - ${warning}`)
    ]),
    `Encryption at rest: ${encryptionStateText(report.encryption)}.`
  ].join("\n")
