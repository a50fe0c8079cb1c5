import { sql } from "drizzle-orm";
import { readMigrationFiles, type MigrationMeta } from "drizzle-orm/migrator";
import { drizzle } from "drizzle-orm/postgres-js";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import type { Database, Executor } from "./client.js";

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
 * Applies pending migrations, all in ONE transaction, with drizzle's bookkeeping (`drizzle.__drizzle_migrations`,
 * the table drizzle's own migrator reads and writes, so databases it migrated carry on).
 *
 * On Postgres several relays may start together. The first statement of that transaction takes a transaction-level
 * advisory lock (`pg_advisory_xact_lock`), released by the commit or the rollback: the others wait for it, then find
 * nothing left to apply. Nothing spans two transactions, so this holds behind a pooler in transaction mode
 * (PgBouncer), where a session lock (`pg_advisory_lock` … `pg_advisory_unlock`) would be taken on one server
 * connection and released, or not, on another. Migrations run over `DATABASE_MIGRATION_URL` when it is set (a
 * direct connection), else over the relay's own URL, on a connection of their own.
 */
export async function migrate(db: Database): Promise<void> {
  const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_DIR });
  if (db.kind === "pglite" || !db.url) {
    await db.orm.transaction((tx) => applyPending(db, tx, migrations));
    return;
  }
  const client = postgres(db.migrationUrl ?? db.url, {
    max: 1,
    prepare: db.preparedStatements ?? true,
    onnotice: () => {},
    connection: { application_name: "rendley-relay migrate" },
  });
  try {
    await drizzle({ client }).transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      await applyPending(db, tx, migrations);
    });
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** drizzle's migrator, in the caller's transaction: every migration newer than the last one recorded. */
async function applyPending(db: Database, tx: Executor, migrations: readonly MigrationMeta[]): Promise<void> {
  await tx.execute(sql`create schema if not exists drizzle`);
  await tx.execute(
    sql`create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`,
  );
  const [last] = await db.rows<{ created_at: string | number }>(
    sql`select created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`,
    tx,
  );
  for (const migration of migrations) {
    if (last && Number(last.created_at) >= migration.folderMillis) continue;
    for (const statement of migration.sql) await tx.execute(sql.raw(statement));
    await tx.execute(
      sql`insert into drizzle.__drizzle_migrations (hash, created_at) values (${migration.hash}, ${migration.folderMillis})`,
    );
  }
}
