import type { PGlite } from "@electric-sql/pglite";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDb } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MIGRATIONS = join(ROOT, "migrations");
const CACHE_DIR = join(ROOT, "node_modules", ".cache", "rendley-relay");

/** Which migrations (and PGlite build) a template holds: any change makes a new one. */
function templateKey(): string {
  const hash = createHash("sha256");
  const pglite = JSON.parse(readFileSync(join(ROOT, "node_modules", "@electric-sql", "pglite", "package.json"), "utf8")) as {
    version: string;
  };
  hash.update(pglite.version);
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
      .sort();
  for (const file of files(MIGRATIONS)) hash.update(file.slice(MIGRATIONS.length)).update(readFileSync(file));
  return hash.digest("hex").slice(0, 16);
}

/**
 * A migrated, empty PGlite data directory as a tarball, so the demo starts in about a second rather than
 * running initdb (3 to 4 s, far more on a busy machine) every time. Built on first use and kept in
 * `node_modules/.cache/rendley-relay/`, keyed by the migrations; `explicitPath` (tests) skips the cache.
 */
export async function pgliteTemplate(explicitPath?: string): Promise<Blob> {
  if (explicitPath) return new Blob([readFileSync(explicitPath)]);
  const path = join(CACHE_DIR, `demo-pglite-${templateKey()}.tar`);
  try {
    return new Blob([readFileSync(path)]);
  } catch {
    // not built yet
  }
  const db = await createDb({ dataDir: "memory://" });
  try {
    await migrate(db);
    const blob = await (db.orm as unknown as { $client: PGlite }).$client.dumpDataDir("none");
    try {
      mkdirSync(CACHE_DIR, { recursive: true });
      const partial = `${path}.${process.pid}.tmp`;
      writeFileSync(partial, Buffer.from(await blob.arrayBuffer()));
      renameSync(partial, path); // never a half-written template for a concurrent run
    } catch {
      // a read-only node_modules: start from the blob anyway, without caching
    }
    return blob;
  } finally {
    await db.close();
  }
}
