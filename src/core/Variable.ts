import { Redacted } from "effect"
import type { Variables } from "./ProviderEnvironment.js"

/** A variable name with its value; `value` is undefined when unset or empty (both mean "not configured"). */
export interface Variable {
  readonly variable: string
  readonly value: string | undefined
}

export const lookup = (variables: Variables, variable: string): Variable => {
  const found = variables.get(variable)
  const value = found === undefined ? "" : Redacted.value(found)
  return { variable, value: value === "" ? undefined : value }
}

export const isSet = (v: Variable): v is { readonly variable: string; readonly value: string } => v.value !== undefined

export const namesOf = (vs: ReadonlyArray<Variable>): Array<string> => vs.filter(isSet).map((v) => v.variable)
