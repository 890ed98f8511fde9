import { Array as Arr, Either, Redacted } from "effect"
import { InvalidConfiguration } from "../core/Errors.js"
import { defaultBaseUrls, DesiredProvider, isProviderType, SkippedProvider } from "../core/Provider.js"
import { isValidProviderName, providerNameRule } from "../core/ProviderName.js"
import { type BedrockOutcome, bedrockRule, bedrockVariables } from "./BedrockRule.js"
import {
  bedrockSuffix,
  indexedFields,
  indexedPrefix,
  indexedVariable,
  isSet,
  namesOf,
  type SetVariable,
  text,
  type Variable,
  type Variables
} from "./ProviderVariables.js"

type Field = typeof indexedFields[number]
const knownFields: ReadonlySet<string> = new Set(indexedFields)
const bedrockFields = indexedFields.filter((field) => field.startsWith("BEDROCK_"))

export const maxKeys = 5
const decimalIndex = /^(0|[1-9][0-9]*)$/
/** Indices run from 0 without gaps, so a longer one is a gap anyway; longer ones also lose precision as numbers. */
const maxIndexDigits = 9
/** How many of the indices found a gap's message lists (50,000 of them would bury it). */
const indicesShown = 10

export interface IndexedProvider {
  readonly index: number
  readonly provider: DesiredProvider
}

export interface IndexedProviders {
  readonly providers: ReadonlyArray<IndexedProvider>
  readonly skipped: ReadonlyArray<SkippedProvider>
  readonly warnings: ReadonlyArray<string>
}

/** The set variables of one index, by field (known fields only). */
type IndexVariables = Map<string, SetVariable>

/** An indexed variable's name that has no valid index: why, and how to rename it. */
const invalidIndex = (variable: string, index: string, field: string): InvalidConfiguration | undefined =>
  !decimalIndex.test(index)
    ? new InvalidConfiguration({
      variables: [variable],
      rule: `the index ${
        JSON.stringify(index)
      } is not a decimal number (indexed variables are named ${indexedPrefix}<N>_<FIELD> with N = 0, 1, 2, ... without leading zeros)`,
      fix: `rename it with a numeric index, for example ${indexedVariable(0, field === "" ? "TYPE" : field)}`
    })
    : index.length > maxIndexDigits
    ? new InvalidConfiguration({
      variables: [variable],
      rule: `the index ${index} is too large: indexed providers are numbered 0, 1, 2, ... without gaps`,
      fix: `renumber the ${indexedPrefix}<N>_* variables from 0 without gaps`
    })
    : undefined

const byName = <A extends { readonly variable: string }>(a: A, b: A) =>
  a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0

/**
 * Splits `CODER_AIBRIDGE_PROVIDER_<N>_<FIELD>` names into indices, failing on a non-numeric index, and
 * groups the variables by index: one pass over the names, none per field, and no sort of them all
 * (only what is reported is put in name order, so the first bad name is the same whatever the order).
 */
const indicesOf = (variables: Variables) =>
  Either.gen(function*() {
    const indices = new Map<number, IndexVariables>()
    const invalid: Array<{ readonly variable: string; readonly error: InvalidConfiguration }> = []
    const unknown: Array<{ readonly variable: string; readonly warning: string }> = []
    for (const [variable, value] of variables) {
      if (!variable.startsWith(indexedPrefix)) continue
      const rest = variable.slice(indexedPrefix.length)
      const separator = rest.indexOf("_")
      const index = separator === -1 ? rest : rest.slice(0, separator)
      const field = separator === -1 ? "" : rest.slice(separator + 1)
      const error = invalidIndex(variable, index, field)
      if (error !== undefined) {
        invalid.push({ variable, error })
        continue
      }
      const number = Number(index)
      const fields = indices.get(number) ?? new Map()
      indices.set(number, fields)
      if (knownFields.has(field)) {
        fields.set(field, { variable, value })
      } else {
        const warning = `${variable} ignored: unknown field ${JSON.stringify(field)} (known fields: ${
          indexedFields.join(", ")
        })`
        unknown.push({ variable, warning })
      }
    }
    const firstInvalid = invalid.sort(byName)[0]
    if (firstInvalid !== undefined) return yield* Either.left(firstInvalid.error)
    const warnings = unknown.sort(byName).map(({ warning }) => warning)
    const sorted = Array.from(indices.keys()).sort((a, b) => a - b)
    const missing = sorted.findIndex((index, position) => index !== position)
    if (missing !== -1) {
      return yield* Either.left(
        new InvalidConfiguration({
          variables: [indexedVariable(missing, "TYPE")],
          rule:
            `indexed providers must be numbered contiguously from 0, but index ${missing} is missing (indices found: ${
              sorted.slice(0, indicesShown).join(", ")
            }${sorted.length > indicesShown ? `, ... ${sorted.length} in all` : ""})`,
          fix: `renumber the ${indexedPrefix}<N>_* variables without gaps, or define provider ${missing}`
        })
      )
    }
    return { byIndex: sorted.map((index) => indices.get(index) ?? new Map()), warnings }
  })

/** KEYS: a comma-separated list, items trimmed, no empty item, no duplicate, at most `maxKeys`. */
const parseKeyList = (keys: SetVariable) => {
  const items = Redacted.value(keys.value).split(",").map((item) => item.trim())
  const invalid = (rule: string, fix: string) =>
    Either.left(new InvalidConfiguration({ variables: [keys.variable], rule, fix }))
  const empty = items.findIndex((item) => item === "")
  if (empty !== -1) {
    return invalid(
      `item ${empty + 1} of the comma-separated key list is empty`,
      "remove the empty item (no leading, trailing or doubled commas)"
    )
  }
  if (items.length > maxKeys) {
    return invalid(`at most ${maxKeys} keys are allowed, ${items.length} are given`, `keep at most ${maxKeys} keys`)
  }
  const duplicate = items.findIndex((item, i) => items.indexOf(item) !== i)
  if (duplicate !== -1) {
    return invalid(
      `items ${items.indexOf(items[duplicate] ?? "") + 1} and ${duplicate + 1} of the key list are the same key`,
      "list each key once"
    )
  }
  return Either.right(items.map((item) => Redacted.make(item)))
}

const withoutBedrock: BedrockOutcome = { bedrock: null, source: [], warnings: [] }

type Parsed =
  | { readonly _tag: "Provider"; readonly provider: DesiredProvider; readonly warnings: ReadonlyArray<string> }
  | { readonly _tag: "Skipped"; readonly skipped: SkippedProvider; readonly warning: string }

// Plain returns rather than Either.gen: this runs once per provider, and the generator was a measurable
// part of deriving 1,000 providers.
const parseProvider = (index: number, set: IndexVariables): Either.Either<Parsed, InvalidConfiguration> => {
  const get = (field: Field): Variable =>
    set.get(field) ?? { variable: indexedVariable(index, field), value: undefined }
  const type = get("TYPE")
  const nameVariable = get("NAME")
  if (!isSet(type)) {
    return Either.left(
      new InvalidConfiguration({
        variables: [type.variable],
        rule: `provider ${index} has no type; TYPE is required (openai or anthropic)`,
        fix: `set ${type.variable}, for example to "openai"`
      })
    )
  }
  const named = isSet(nameVariable) ? nameVariable : type
  const name = text(named)
  const typeName = text(type)
  if (!isValidProviderName(name)) {
    // The usual way to get here: `TYPE=OpenAI` without a NAME, the name taken from the type.
    const lowercaseType = named === type && isProviderType(typeName.toLowerCase())
      ? `write ${type.variable} in lowercase (${JSON.stringify(typeName.toLowerCase())}), or `
      : ""
    return Either.left(
      new InvalidConfiguration({
        variables: [named.variable],
        rule: `the provider name ${JSON.stringify(name)} does not match ${providerNameRule}`,
        fix: `${lowercaseType}set ${nameVariable.variable} to a valid name, for example "openai-eu"`
      })
    )
  }
  const all = indexedFields.map(get)
  if (!isProviderType(typeName)) {
    return Either.right({
      _tag: "Skipped",
      skipped: new SkippedProvider({ name, type: typeName, source: namesOf(all).sort() }, true),
      warning: `${type.variable}: provider type ${
        JSON.stringify(typeName)
      } is not supported by the database yet (known: openai, anthropic${
        isProviderType(typeName.toLowerCase())
          ? `; types are lowercase: ${JSON.stringify(typeName.toLowerCase())}`
          : ""
      }); provider "${name}" skipped`
    })
  }
  const key = get("KEY")
  const keyList = get("KEYS")
  if (isSet(key) && isSet(keyList)) {
    return Either.left(
      new InvalidConfiguration({
        variables: [key.variable, keyList.variable],
        rule: "KEY and KEYS are mutually exclusive",
        fix: `keep one: ${key.variable} for a single key or ${keyList.variable} for a comma-separated list`
      })
    )
  }
  const keys = isSet(keyList) ? parseKeyList(keyList) : Either.right(isSet(key) ? [key.value] : [])
  if (Either.isLeft(keys)) return Either.left(keys.left)
  const bedrockSet = bedrockFields.flatMap((field) => set.get(field)?.variable ?? [])
  if (typeName !== "anthropic" && Arr.isNonEmptyArray(bedrockSet)) {
    return Either.left(
      new InvalidConfiguration({
        variables: bedrockSet,
        rule: `BEDROCK_* settings apply only to type anthropic, but provider ${index} has type ${
          JSON.stringify(typeName)
        }`,
        fix: `remove ${bedrockSet.join(", ")}, or set ${type.variable} to "anthropic"`
      })
    )
  }
  // Without any BEDROCK_* variable the rule has nothing to say: skipped, as it is for nearly every provider.
  const bedrock = Arr.isNonEmptyArray(bedrockSet)
    ? bedrockRule(bedrockVariables((field) => get(bedrockSuffix(field) as Field)), [key, keyList])
    : Either.right(withoutBedrock)
  if (Either.isLeft(bedrock)) return Either.left(bedrock.left)
  const baseUrl = get("BASE_URL")
  return Either.right({
    _tag: "Provider",
    provider: new DesiredProvider({
      name,
      type: typeName,
      source: [...namesOf([type, nameVariable, baseUrl, key, keyList]), ...bedrock.right.source].sort(),
      base_url: text(baseUrl) || defaultBaseUrls[typeName],
      keys: keys.right,
      bedrock: bedrock.right.bedrock
    }, true),
    warnings: bedrock.right.warnings
  })
}

/** The indexed `CODER_AIBRIDGE_PROVIDER_<N>_<FIELD>` providers (SPEC §1.2), in index order. */
export const indexedProviders = (variables: Variables) =>
  Either.gen(function*() {
    const { byIndex, warnings } = yield* indicesOf(variables)
    const providers: Array<IndexedProvider> = []
    const skipped: Array<SkippedProvider> = []
    const allWarnings = [...warnings]
    for (const [index, set] of byIndex.entries()) {
      const parsed = yield* parseProvider(index, set)
      if (parsed._tag === "Skipped") {
        skipped.push(parsed.skipped)
        allWarnings.push(parsed.warning)
      } else {
        providers.push({ index, provider: parsed.provider })
        allWarnings.push(...parsed.warnings)
      }
    }
    return { providers, skipped, warnings: allWarnings } satisfies IndexedProviders
  })
