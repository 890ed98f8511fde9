/**
 * A `ConfigProvider` over a fixed set of variables, with names split on "_" like
 * `ConfigProvider.fromEnv`, whose `enumerateChildren` answers from a tree built once.
 *
 * Why: Effect's `fromEnv` and `fromMap` split every variable name again on every enumeration, and the
 * walk that finds the indexed providers (ProviderEnvironment.ts) enumerates once per index and field.
 * Together that is quadratic: 1,000 indexed providers took 7 s, 10,000 more than ten minutes. Here an
 * enumeration costs the number of children. Values load through `fromMap`, so they parse exactly as
 * there.
 */
import { ConfigProvider, ConfigProviderPathPatch, Effect, HashSet, Iterable } from "effect"

interface Node {
  readonly children: Map<string, Node>
}

const pathDelim = "_"

const treeOf = (names: Iterable<string>): Node => {
  const root: Node = { children: new Map() }
  for (const name of names) {
    let node = root
    for (const segment of name.split(pathDelim)) {
      const child = node.children.get(segment) ?? { children: new Map() }
      node.children.set(segment, child)
      node = child
    }
  }
  return root
}

/** The variables behind a provider made here, so a reader of thousands of them can take them at once. */
const variablesOf = new WeakMap<ConfigProvider.ConfigProvider, ReadonlyMap<string, string>>()

/** The variables of a provider made by `fromVariables`; undefined for any other provider. */
export const variables = (provider: ConfigProvider.ConfigProvider): ReadonlyMap<string, string> | undefined =>
  variablesOf.get(provider)

/**
 * The provider for these variables; unset (undefined) values are left out, as in the environment. Nothing
 * is built up front: the program reads its provider variables from the map itself (`variables`), so the
 * tree is built on the first enumeration, and each value loads through a `fromMap` of its one variable
 * (a `fromMap` of them all would copy and re-split every name at once: 150,000 for 50,000 providers).
 */
export const fromVariables = (
  variables: Iterable<readonly [string, string | undefined]>
): ConfigProvider.ConfigProvider => {
  const map = new Map<string, string>()
  for (const [name, value] of variables) if (value !== undefined) map.set(name, value)
  let root: Node | undefined
  const provider = Iterable.some(map.keys(), (name) => name.includes("["))
    // `fromMap` reads `NAME[0]` names as sequences, with its own renaming and enumeration: such (rare)
    // variables get `fromMap` itself.
    ? ConfigProvider.fromMap(map, { pathDelim })
    : ConfigProvider.fromFlat(ConfigProvider.makeFlat({
      load: (path, primitive, split) => {
        const name = path.join(pathDelim)
        const value = map.get(name)
        return ConfigProvider.fromMap(new Map(value === undefined ? [] : [[name, value]]), { pathDelim }).flattened
          .load(path, primitive, split)
      },
      enumerateChildren: (path) =>
        Effect.sync(() => {
          root ??= treeOf(map.keys())
          let node: Node | undefined = root
          for (const segment of path) node = node?.children.get(segment)
          return HashSet.fromIterable(node?.children.keys() ?? [])
        }),
      patch: ConfigProviderPathPatch.empty
    }))
  variablesOf.set(provider, map)
  return provider
}
