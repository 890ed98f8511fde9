/**
 * Runs a bundle the way bin/ai-provider-seed.cjs runs the program's (V8 code cache next to it, written
 * by a run with AI_PROVIDER_SEED_WRITE_CODE_CACHE=1): the build trains the program's cache with it,
 * the bench runs its own bundles with it.
 *   node scripts/build-run-cached.cjs BUNDLE [arguments...]
 */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, like the launcher */
"use strict"
const Path = require("node:path")

// The bundle sees [node, this script, ...arguments], as a program run by Node does.
const [bundle] = process.argv.splice(2, 1)
require("../bin/ai-provider-seed.cjs").runBundle(Path.resolve(bundle))
