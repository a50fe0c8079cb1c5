import { PGlite } from "@electric-sql/pglite";
import type { SQL } from "drizzle-orm";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { join } from "node:path";
import postgres from "postgres";
import { lockDataDir } from "./data-dir-lock.js";
import * as schema from "./schema.js";

export type Orm = PgDatabase<PgQueryResultHKT, typeof schema>;
/** Anything raw SQL can run on: the database or an open transaction. */
export type Executor = Pick<Orm, "execute">;

export interface Database {
  readonly kind: "pglite" | "postgres";
  readonly orm: Orm;
  /** The Postgres URL (never logged); undefined on PGlite. */
  readonly url?: string;
  /** Runs raw SQL on the database (or the given transaction) and returns the rows, the same shape on both drivers. */
  rows<T>(query: SQL, executor?: Executor): Promise<T[]>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** `postgres://…`; unset uses PGlite. */
  databaseUrl?: string | undefined;
  /** PGlite directory (`memory://` for in-memory). The database lives in `<dir>/pgdata`. */
  dataDir: string;
  /** postgres.js pool size (default 10). */
  maxConnections?: number;
  /** A PGlite data dir tarball to start from (tests clone a migrated template this way). */
  loadDataDir?: Blob;
}

async function rowsOf<T>(executor: Executor, query: SQL): Promise<T[]> {
  const result = (await executor.execute(query)) as unknown;
  // postgres.js answers an array of rows, PGlite `{ rows }`.
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/** Opens Postgres when a URL is given, otherwise embedded PGlite (locked to this process). */
export async function createDb(options: DbOptions): Promise<Database> {
  if (options.databaseUrl) {
    const client = postgres(options.databaseUrl, {
      max: options.maxConnections ?? 10,
      onnotice: () => {},
      connection: {
        application_name: "rendley-relay",
        // A transaction left open (a bug, a stalled process) must not hold row locks and bloat the hot tables.
        idle_in_transaction_session_timeout: 10_000,
      },
    });
    const orm = drizzlePostgres({ client, schema, casing: "snake_case" }) as unknown as Orm;
    return {
      kind: "postgres",
      orm,
      url: options.databaseUrl,
      rows: (query, executor = orm) => rowsOf(executor, query),
      close: () => client.end({ timeout: 5 }),
    };
  }

  const inMemory = options.dataDir.startsWith("memory://");
  const release = inMemory ? () => {} : lockDataDir(options.dataDir);
  let client: PGlite;
  try {
    client = await PGlite.create({
      ...(inMemory ? {} : { dataDir: join(options.dataDir, "pgdata") }),
      ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    });
  } catch (err) {
    release();
    throw err;
  }
  const orm = drizzlePglite({ client, schema, casing: "snake_case" }) as unknown as Orm;
  return {
    kind: "pglite",
    orm,
    rows: (query, executor = orm) => rowsOf(executor, query),
    close: async () => {
      try {
        await client.close();
      } finally {
        release();
      }
    },
  };
}
