import { sql } from "drizzle-orm";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import type { Database } from "./client.js";

/** The SQL drizzle-kit generated; the same files serve PGlite and Postgres. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

/** Any constant: the advisory lock several relays starting at once take around migrations. */
const MIGRATION_LOCK_KEY = 727_001;

/** Migrations recorded as applied (0 before the first: the bookkeeping table does not exist yet). */
export async function appliedMigrations(db: Database): Promise<number> {
  try {
    const [row] = await db.rows<{ n: number | string }>(sql`select count(*) as n from drizzle.__drizzle_migrations`);
    return Number(row?.n ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Applies pending migrations. On Postgres several relays may start together: they serialise on an
 * advisory lock held by one dedicated connection, so only the first applies anything.
 */
export async function migrate(db: Database): Promise<void> {
  const config = { migrationsFolder: MIGRATIONS_DIR };
  if (db.kind === "pglite" || !db.url) {
    await migratePglite(db.orm as never, config);
    return;
  }
  const client = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const orm = drizzle({ client });
    await orm.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
    try {
      await migratePostgres(orm, config);
    } finally {
      await orm.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}
