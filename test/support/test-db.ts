import { readFileSync } from "node:fs";
import postgres from "postgres";
import { inject } from "vitest";
import { createDb, type Database } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrate.js";

export type DriverName = "pglite" | "postgres";

/**
 * The drivers storage tests run on: PGlite always, Postgres when TEST_DATABASE_URL is set; only Postgres in a run
 * through a pooler (TEST_DATABASE_POOL_URL: `.ci/run`'s PgBouncer run, after the main run covered PGlite).
 */
export const DRIVERS: DriverName[] = process.env.TEST_DATABASE_POOL_URL
  ? ["postgres"]
  : process.env.TEST_DATABASE_URL
    ? ["pglite", "postgres"]
    : ["pglite"];

/**
 * Where test relays and test databases' own connections go: TEST_DATABASE_POOL_URL when set (a pooler such as
 * PgBouncer in front of TEST_DATABASE_URL's server; `.ci/run` sets it for its PgBouncer run), else
 * TEST_DATABASE_URL. Creating and dropping databases always goes to TEST_DATABASE_URL directly.
 */
const RELAY_DATABASE_SERVER = process.env.TEST_DATABASE_POOL_URL || process.env.TEST_DATABASE_URL;

/** TEST_DATABASE_PREPARED_STATEMENTS=false: test relays and test databases run with DATABASE_PREPARED_STATEMENTS=false. */
const PREPARED_STATEMENTS = process.env.TEST_DATABASE_PREPARED_STATEMENTS !== "false";

/** host and port of RELAY_DATABASE_SERVER (for a TCP proxy in front of what the relays connect to). */
export function relayDatabaseServer(): { host: string; port: number } {
  if (!RELAY_DATABASE_SERVER) throw new Error("TEST_DATABASE_URL is not set");
  const url = new URL(RELAY_DATABASE_SERVER);
  return { host: url.hostname, port: Number(url.port || 5432) };
}

let template: Blob | undefined;

/** The migrated PGlite template built by the global setup. */
export function pgliteTemplate(): Blob {
  template ??= new Blob([readFileSync(inject("pgliteTemplate"))]);
  return template;
}

/** Where a test relay or test database lives; `drop()` removes a Postgres database afterwards. */
export interface TestStore {
  driver: DriverName;
  /** For Postgres: a fresh, migrated database of its own (through TEST_DATABASE_POOL_URL when that is set). */
  databaseUrl?: string;
  /** For Postgres: whether postgres.js prepares named statements (TEST_DATABASE_PREPARED_STATEMENTS). */
  preparedStatements?: boolean;
  /** The relay's database variables for this store: DATABASE_URL and DATABASE_PREPARED_STATEMENTS on Postgres, none on PGlite. */
  env: Record<string, string>;
  /** For PGlite: the template to start from. */
  loadDataDir?: Blob;
  drop(): Promise<void>;
}

/**
 * A fresh store for one test file (or test): a PGlite copy of the migrated template, or a new database on
 * the Postgres at TEST_DATABASE_URL (created, migrated, and dropped by `drop()`).
 */
export async function createTestStore(driver: DriverName): Promise<TestStore> {
  if (driver === "pglite") return { driver, loadDataDir: pgliteTemplate(), env: {}, drop: async () => {} };
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error("TEST_DATABASE_URL is not set");
  const name = `relay_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(RELAY_DATABASE_SERVER ?? adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const db = await createDb({ databaseUrl, dataDir: "memory://", preparedStatements: PREPARED_STATEMENTS });
  await migrate(db);
  await db.close();
  return {
    driver,
    databaseUrl,
    preparedStatements: PREPARED_STATEMENTS,
    env: { DATABASE_URL: databaseUrl, DATABASE_PREPARED_STATEMENTS: String(PREPARED_STATEMENTS) },
    async drop() {
      const again = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await again.unsafe(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}

/** Opens a Database on a test store (for storage tests that do not run a whole relay). */
export async function openTestDb(store: TestStore): Promise<Database> {
  return createDb({
    databaseUrl: store.databaseUrl,
    dataDir: "memory://",
    loadDataDir: store.loadDataDir,
    preparedStatements: store.preparedStatements,
  });
}
