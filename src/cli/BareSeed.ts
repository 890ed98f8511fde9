/**
 * Which command lines are a bare `seed`, the way servers start the program: `seed` alone, its options at
 * their defaults. The program runs those without loading the command line (Program.ts), and the launcher
 * (bin/ai-provider-seed.cjs) runs them from a bundle without it (scripts/build.ts), so this module imports
 * nothing: the build gives the launcher its own copy of it.
 */

/** The one variable that sets a `seed` option: when it is set, the command line reads and checks it. */
export const onConflictVariable = "AI_PROVIDER_SEED_ON_CONFLICT"

/** `argv` is `process.argv`-shaped (runtime and script first). */
export const isBareSeed = (argv: ReadonlyArray<string>, onConflictSet: boolean): boolean =>
  argv.length === 3 && argv[2] === "seed" && !onConflictSet
