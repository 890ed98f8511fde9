import { Array as Arr, Effect, Either, Redacted } from "effect"
import { equivalent } from "../core/Canonical.js"
import { IndexedNameCollision, InvalidConfiguration } from "../core/Errors.js"
import { DesiredProvider, type DesiredSet, sameKeys } from "../core/Provider.js"
import { indexedProviders } from "./IndexedProviders.js"
import { legacyProviders } from "./LegacyProviders.js"
import { ProviderEnvironment } from "./ProviderEnvironment.js"
import { indexedVariable, type Variables } from "./ProviderVariables.js"

const identical = (a: DesiredProvider, b: DesiredProvider): boolean => equivalent(a, b) && sameKeys(a.keys, b.keys)

/**
 * PostgreSQL's text cannot hold a NUL character, and a real environment variable cannot either (an env
 * file or a server's ConfigProvider can): named here, before anything is written.
 */
const withoutNul = (variables: Variables): Either.Either<void, InvalidConfiguration> => {
  const named: Array<string> = []
  for (const [name, value] of variables) if (Redacted.value(value).includes("\u0000")) named.push(name)
  return Arr.isNonEmptyArray(named)
    ? Either.left(
      new InvalidConfiguration({
        variables: named,
        rule: "the value holds a NUL character, which PostgreSQL cannot store",
        fix: "remove the NUL character from the value (in an env file, check the line for a stray \\0 byte)"
      })
    )
    : Either.void
}

/**
 * The desired set (SPEC §2) from the given variables: legacy providers, then indexed
 * ones, collisions rejected, identical duplicates collapsed, sorted by name. Every
 * warning is also logged at warning level.
 */
export const desiredSetOf = (variables: Variables) =>
  Either.gen(function*() {
    yield* withoutNul(variables)
    const legacy = yield* legacyProviders(variables)
    const indexed = yield* indexedProviders(variables)
    const warnings = [...legacy.warnings, ...indexed.warnings]
    const legacyNames = new Set(legacy.providers.map((provider) => provider.name))
    // Legacy entries have no index; they never reach the collapse branch, which is for indexed pairs only.
    const byName = new Map(legacy.providers.map((provider) => [provider.name, { index: -1, provider }]))
    for (const { index, provider } of indexed.providers) {
      const existing = byName.get(provider.name)
      if (existing === undefined) {
        byName.set(provider.name, { index, provider })
      } else if (legacyNames.has(provider.name)) {
        return yield* Either.left(
          new IndexedNameCollision({
            provider: provider.name,
            existing: existing.provider.source,
            conflicting: provider.source,
            reason: "the legacy variables already configure a provider with this name",
            remediation: `set ${indexedVariable(index, "NAME")} to another name, or remove the legacy variables ${
              existing.provider.source.join(", ")
            }`
          })
        )
      } else if (!identical(existing.provider, provider)) {
        return yield* Either.left(
          new IndexedNameCollision({
            provider: provider.name,
            existing: existing.provider.source,
            conflicting: provider.source,
            reason: "the two definitions differ in their settings or keys",
            remediation: `set ${indexedVariable(index, "NAME")} to a different name, or make both definitions identical`
          })
        )
      } else {
        byName.set(provider.name, {
          index: existing.index,
          provider: new DesiredProvider({
            ...existing.provider,
            source: [...existing.provider.source, ...provider.source]
          }, true)
        })
        warnings.push(
          `${indexedVariable(existing.index, "*")} and ${
            indexedVariable(index, "*")
          } define provider "${provider.name}" identically; it is seeded once`
        )
      }
    }
    const providers = Array.from(byName.values(), ({ provider }) => provider).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    )
    return { providers, skipped: indexed.skipped, warnings } satisfies DesiredSet
  })

/** The desired set from the given variables, every warning also logged at warning level. */
export const deriveFrom = (variables: Variables) =>
  Effect.tap(
    desiredSetOf(variables),
    (set) => Effect.forEach(set.warnings, (warning) => Effect.logWarning(warning), { discard: true })
  )

/** The desired set from the `ProviderEnvironment` service: every rule checked, before any database access. */
export const derive = Effect.flatMap(ProviderEnvironment, ({ variables }) => deriveFrom(variables)).pipe(
  Effect.withSpan("Seed.derive")
)
