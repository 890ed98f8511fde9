/**
 * The environment variables that describe providers (SPEC §1), named once, and how a value is looked
 * up: redacted, with empty meaning unset.
 */
import { Redacted } from "effect"
import { type BedrockField, bedrockFields } from "../core/Provider.js"

const bedrockSuffixes = Object.fromEntries(
  bedrockFields.map((field) => [field, `BEDROCK_${field.toUpperCase()}`])
) as Record<BedrockField, string>

/** `access_key` -> `BEDROCK_ACCESS_KEY`: the Bedrock part of both the legacy and the indexed names. */
export const bedrockSuffix = (field: BedrockField): string => bedrockSuffixes[field]

const legacyPrefix = "CODER_AIBRIDGE_"

/** The legacy single-provider variables (SPEC §1.1). */
export const legacyVariable = {
  openaiKey: `${legacyPrefix}OPENAI_KEY`,
  openaiBaseUrl: `${legacyPrefix}OPENAI_BASE_URL`,
  anthropicKey: `${legacyPrefix}ANTHROPIC_KEY`,
  anthropicBaseUrl: `${legacyPrefix}ANTHROPIC_BASE_URL`,
  bedrock: (field: BedrockField) => `${legacyPrefix}${bedrockSuffix(field)}`
} as const

export const legacyVariableNames: ReadonlyArray<string> = [
  legacyVariable.openaiKey,
  legacyVariable.openaiBaseUrl,
  legacyVariable.anthropicKey,
  legacyVariable.anthropicBaseUrl,
  ...bedrockFields.map(legacyVariable.bedrock)
]

/** `CODER_AIBRIDGE_PROVIDER_<N>_<FIELD>` (SPEC §1.2). */
export const indexedPrefix = `${legacyPrefix}PROVIDER_`
export const indexedFields = ["TYPE", "NAME", "BASE_URL", "KEY", "KEYS", ...bedrockFields.map(bedrockSuffix)] as const
export const indexedVariable = (index: number, field: string): string => `${indexedPrefix}${index}_${field}`

/**
 * Every value is redacted: the environment holds keys, and this map must be safe to log by accident.
 * Empty values are left out when it is read (empty means unset).
 */
export type Variables = ReadonlyMap<string, Redacted.Redacted<string>>

/** A variable name with its value; `value` is undefined when unset or empty (both mean "not configured"). */
export interface Variable {
  readonly variable: string
  readonly value: Redacted.Redacted<string> | undefined
}
export type SetVariable = { readonly variable: string; readonly value: Redacted.Redacted<string> }

/** The variables as `Variables`: redacted, the empty ones left out. */
export const variablesOf = (entries: Iterable<readonly [string, string]>): Variables => {
  const variables = new Map<string, Redacted.Redacted<string>>()
  for (const [name, value] of entries) if (value !== "") variables.set(name, Redacted.make(value))
  return variables
}

export const lookup = (variables: Variables, variable: string): Variable => ({
  variable,
  value: variables.get(variable)
})

export const isSet = (v: Variable): v is SetVariable => v.value !== undefined

export const namesOf = (vs: ReadonlyArray<Variable>): Array<string> => vs.filter(isSet).map((v) => v.variable)

/** The value of a variable that holds no secret (a type, a name, a URL, a region), or "" when unset. */
export const text = (v: Variable): string => v.value === undefined ? "" : Redacted.value(v.value)
