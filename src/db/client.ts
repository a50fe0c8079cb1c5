import { PGlite } from "@electric-sql/pglite";
import type { SQL } from "drizzle-orm";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { join } from "node:path";
import postgres from "postgres";
import { isConnectionLossCode } from "./connection-loss.js";
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
  /** Where migrations run when not over `url`: the same database over a direct connection (DATABASE_MIGRATION_URL). */
  readonly migrationUrl?: string;
  /** Whether postgres.js names and reuses prepared statements (DATABASE_PREPARED_STATEMENTS); Postgres only. */
  readonly preparedStatements?: boolean;
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
  /**
   * postgres.js named prepared statements (default true). A pooler in transaction mode that does not track them
   * (PgBouncer before 1.21, or with `max_prepared_statements = 0`) hands the next transaction another server
   * connection, where the statement does not exist: false sends every query unnamed.
   */
  preparedStatements?: boolean | undefined;
  /** The same database over a direct connection, for migrations only (DATABASE_MIGRATION_URL). */
  migrationUrl?: string | undefined;
  /** A PGlite data dir tarball to start from (tests clone a migrated template this way). */
  loadDataDir?: Blob;
}

/** Every open postgres.js pool of this process, by the function that replaces it. */
const livePools = new Set<() => void>();

/**
 * postgres.js 3.4.9 can throw from a `setImmediate` when a connection died with a write still buffered
 * (`socket.write` on null in `nextWrite`: porsager/postgres#1066, #1154, #1208; fixes #1168/#1176 unreleased).
 * No caller can catch it, and the connection is left unable to flush. The entry point (main.ts) survives this
 * one error and replaces every pool with `recyclePostgresPools`.
 */
export function isDriverWriteBug(err: unknown): boolean {
  const stack = err instanceof Error ? (err.stack ?? "") : "";
  return (
    err instanceof TypeError &&
    err.message.includes("reading 'write'") &&
    /postgres[\\/]src[\\/]connection\.js/.test(stack) &&
    stack.includes("nextWrite")
  );
}

/**
 * postgres.js 3.4.9 runs an array-type query on every new connection and never handles its promise
 * (`fetchArrayTypes` in `connection.js`, porsager/postgres#1223). When that connection dies during the fetch
 * (an outage, a pool being replaced), the rejection has no handler and would end the process. It is
 * recognised as a connection loss on a postgres.js query (`query` is set on errors postgres.js rejects a
 * query with). Our own queries are always awaited, so such a rejection can only be postgres.js's own;
 * the pool reconnects on the next query.
 */
export function isDriverConnectionLoss(reason: unknown): boolean {
  if (!(reason instanceof Error) || !("query" in reason)) return false;
  return isConnectionLossCode((reason as { code?: unknown }).code);
}

/** Replaces every postgres.js pool with a fresh one (in-flight queries on the old pools fail and are retried by their loops). */
export function recyclePostgresPools(): number {
  for (const recycle of livePools) recycle();
  return livePools.size;
}

async function rowsOf<T>(executor: Executor, query: SQL): Promise<T[]> {
  const result = (await executor.execute(query)) as unknown;
  // postgres.js answers an array of rows, PGlite `{ rows }`.
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/** The database settings of the relay's configuration, as `createDb` takes them. */
export function databaseOptions(config: {
  databaseUrl?: string | undefined;
  dataDir: string;
  databaseMigrationUrl?: string | undefined;
  databasePreparedStatements: boolean;
}): DbOptions {
  return {
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    migrationUrl: config.databaseMigrationUrl,
    preparedStatements: config.databasePreparedStatements,
  };
}

/**
 * PgBouncer refuses a startup parameter it does not track (`unsupported startup parameter: …`, unless the
 * parameter is in its `ignore_startup_parameters`), and so may other poolers: the connection is closed at once.
 */
function refusedStartupParameter(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return code === "08P01" && typeof message === "string" && /unsupported startup parameter/i.test(message);
}

/** Opens Postgres when a URL is given, otherwise embedded PGlite (locked to this process). */
export async function createDb(options: DbOptions): Promise<Database> {
  if (options.databaseUrl) {
    const url = options.databaseUrl;
    const prepare = options.preparedStatements ?? true;
    // A session default sent at connection start. A pooler may refuse it (below); behind one, set it on the
    // relay's role instead (README: Behind PgBouncer).
    let sessionDefaults = true;
    const open = () => {
      const client = postgres(url, {
        max: options.maxConnections ?? 10,
        prepare,
        onnotice: () => {},
        // After an outage, reconnect within a second (the default backs off to 20 s, past the delivery lease)…
        backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 1),
        // …and give up on a server that does not answer well before a claim's lease runs out.
        connect_timeout: 5,
        connection: {
          application_name: "rendley-relay",
          // A transaction left open (a bug, a stalled process) must not hold row locks and bloat the hot tables.
          ...(sessionDefaults ? { idle_in_transaction_session_timeout: 10_000 } : {}),
        },
      });
      return { client, orm: drizzlePostgres({ client, schema, casing: "snake_case" }) as unknown as Orm };
    };
    let current = open();
    // One connection now tells whether the server takes the startup parameters; this pool keeps it.
    try {
      await current.client`select 1`;
    } catch (err) {
      await current.client.end({ timeout: 1 }).catch(() => {});
      if (!refusedStartupParameter(err)) throw err;
      sessionDefaults = false;
      current = open();
    }
    const recycle = () => {
      const old = current;
      current = open();
      void old.client.end({ timeout: 1 }).catch(() => {});
    };
    livePools.add(recycle);
    return {
      kind: "postgres",
      get orm() {
        return current.orm;
      },
      url,
      ...(options.migrationUrl ? { migrationUrl: options.migrationUrl } : {}),
      preparedStatements: prepare,
      rows: (query, executor) => rowsOf(executor ?? current.orm, query),
      close: () => {
        livePools.delete(recycle);
        return current.client.end({ timeout: 2 }); // acks are flushed by now; the SIGTERM budget is 10 s
      },
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
