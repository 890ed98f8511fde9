import { Redacted } from "effect"
import type { DesiredProvider, DesiredSet } from "../core/DesiredProvider.js"
import { mask } from "../core/Mask.js"
import { maskUrl } from "../core/UrlMask.js"

/** The stable JSON shape of `config --format json` (documented in the README). Secrets masked. */
export interface ConfigReport {
  readonly providers: ReadonlyArray<{
    readonly name: string
    readonly type: string
    readonly source: ReadonlyArray<string>
    readonly base_url: string
    readonly keys: ReadonlyArray<string>
    readonly bedrock: {
      readonly region: string
      readonly model: string
      readonly small_fast_model: string
      readonly base_url: string
      readonly access_key: string
      readonly access_key_secret: string
    } | null
  }>
  readonly skipped: ReadonlyArray<
    { readonly name: string; readonly type: string; readonly source: ReadonlyArray<string> }
  >
  readonly warnings: ReadonlyArray<string>
}

const maskSecret = (secret: Redacted.Redacted<string>): string => mask(Redacted.value(secret))

const providerReport = (provider: DesiredProvider): ConfigReport["providers"][number] => ({
  name: provider.name,
  type: provider.type,
  source: provider.source,
  base_url: maskUrl(provider.base_url),
  keys: provider.keys.map(maskSecret),
  bedrock: provider.bedrock === null ? null : {
    region: provider.bedrock.region,
    model: provider.bedrock.model,
    small_fast_model: provider.bedrock.small_fast_model,
    base_url: maskUrl(provider.bedrock.base_url),
    access_key: maskSecret(provider.bedrock.access_key),
    access_key_secret: maskSecret(provider.bedrock.access_key_secret)
  }
})

export const configReport = (set: DesiredSet): ConfigReport => ({
  providers: set.providers.map(providerReport),
  skipped: set.skipped.map(({ name, source, type }) => ({ name, type, source })),
  warnings: set.warnings
})

const orNone = (value: string) => value === "" ? "(none)" : value

const providerText = (provider: ConfigReport["providers"][number]): Array<string> => [
  `  ${provider.name} (${provider.type})`,
  `    source:   ${provider.source.join(", ")}`,
  `    base_url: ${provider.base_url}`,
  `    keys:     ${provider.keys.length === 0 ? "(none)" : provider.keys.join(", ")}`,
  ...(provider.bedrock === null ? [] : [
    `    bedrock:  access_key ${provider.bedrock.access_key}, access_key_secret ${provider.bedrock.access_key_secret}`,
    `              region ${orNone(provider.bedrock.region)}, model ${
      orNone(provider.bedrock.model)
    }, small_fast_model ${orNone(provider.bedrock.small_fast_model)}, base_url ${orNone(provider.bedrock.base_url)}`
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
    ])
  ].join("\n")
