import type { TestProject } from "vitest/node";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { createDb } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A migrated PGlite data dir tarball: each test database starts as a copy (≈1 s instead of ≈4 s for initdb). */
    pgliteTemplate: string;
  }
}

/** Runs once per `vitest run`: builds the PGlite template every test file clones. */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "relay-test-"));
  const db = await createDb({ dataDir: "memory://" });
  await migrate(db);
  const client = (db.orm as unknown as { $client: PGlite }).$client;
  const blob = await client.dumpDataDir("none");
  await db.close();
  const path = join(dir, "template.tar");
  writeFileSync(path, Buffer.from(await blob.arrayBuffer()));
  project.provide("pgliteTemplate", path);
  return () => rmSync(dir, { recursive: true, force: true });
}
