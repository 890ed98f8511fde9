/**
 * One PostgreSQL for the whole run: the server named by TEST_DATABASE_URL, else an embedded one.
 * Each test file then creates its own fresh database on it (see TestDatabase.ts).
 */
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import type { TestProject } from "vitest/node"
import { ensureBuilt } from "../../scripts/build.js"
import { EmbeddedPostgres } from "../../src/db/EmbeddedPostgres.js"

declare module "vitest" {
  export interface ProvidedContext {
    readonly adminDatabaseUrl: string
    readonly databaseKind: "embedded" | "external"
  }
}

export default async function setup(project: TestProject) {
  // The CLI tests run the bundled program (Program.ts): rebuilt here when stale, once per run.
  await Effect.runPromise(ensureBuilt)
  const external = process.env["TEST_DATABASE_URL"]
  if (external !== undefined && external !== "") {
    project.provide("adminDatabaseUrl", external)
    project.provide("databaseKind", "external")
    return
  }
  const scope = Effect.runSync(Scope.make())
  const server = await Effect.runPromise(
    Layer.buildWithScope(EmbeddedPostgres.layer({ mode: "ephemeral" }), scope).pipe(
      Effect.map(Context.get(EmbeddedPostgres))
    )
  )
  project.provide("adminDatabaseUrl", Redacted.value(server.url))
  project.provide("databaseKind", "embedded")
  return () => Effect.runPromise(Scope.close(scope, Exit.void))
}
