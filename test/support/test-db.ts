import { readFileSync } from "node:fs";
import postgres from "postgres";
import { inject } from "vitest";
import { createDb, type Database } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrate.js";

export type DriverName = "pglite" | "postgres";

/** The drivers storage tests run on: PGlite always, Postgres when TEST_DATABASE_URL is set. */
export const DRIVERS: DriverName[] = process.env.TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

let template: Blob | undefined;

/** The migrated PGlite template built by the global setup. */
export function pgliteTemplate(): Blob {
  template ??= new Blob([readFileSync(inject("pgliteTemplate"))]);
  return template;
}

/** Where a test relay or test database lives; `drop()` removes a Postgres database afterwards. */
export interface TestStore {
  driver: DriverName;
  /** For Postgres: a fresh, migrated database of its own. */
  databaseUrl?: string;
  /** For PGlite: the template to start from. */
  loadDataDir?: Blob;
  drop(): Promise<void>;
}

/**
 * A fresh store for one test file (or test): a PGlite copy of the migrated template, or a new database on
 * the Postgres at TEST_DATABASE_URL (created, migrated, and dropped by `drop()`).
 */
export async function createTestStore(driver: DriverName): Promise<TestStore> {
  if (driver === "pglite") return { driver, loadDataDir: pgliteTemplate(), drop: async () => {} };
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error("TEST_DATABASE_URL is not set");
  const name = `relay_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const db = await createDb({ databaseUrl, dataDir: "memory://" });
  await migrate(db);
  await db.close();
  return {
    driver,
    databaseUrl,
    async drop() {
      const again = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await again.unsafe(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}

/** Opens a Database on a test store (for storage tests that do not run a whole relay). */
export async function openTestDb(store: TestStore): Promise<Database> {
  return createDb({ databaseUrl: store.databaseUrl, dataDir: "memory://", loadDataDir: store.loadDataDir });
}
