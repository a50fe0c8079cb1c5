import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { ts } from "../sql-values.js";

/**
 * Takes or renews a named lease (River's leader row): the row is inserted when absent, taken over when it
 * expired, renewed when `owner` already holds it. Several processes calling at once get one winner: the
 * others' upserts wait on the winner's row and then find it held.
 * @returns whether `owner` holds the lease until `now + ttlMs`
 */
export async function acquireLease(
  db: Database,
  options: { name: string; owner: string; now: Date; ttlMs: number },
): Promise<boolean> {
  const { name, owner, now, ttlMs } = options;
  const rows = await db.rows<{ owner: string }>(sql`
    insert into leases (name, owner, expires_at)
    values (${name}, ${owner}, ${ts(now)} + ${ttlMs}::int * interval '1 millisecond')
    on conflict (name) do update set owner = excluded.owner, expires_at = excluded.expires_at
    where leases.expires_at <= ${ts(now)} or leases.owner = ${owner}
    returning owner`);
  return rows.length > 0;
}

/** Gives a lease up (on shutdown) so another process can take it at once; a lease held by someone else is left alone. */
export async function releaseLease(db: Database, options: { name: string; owner: string }): Promise<boolean> {
  const rows = await db.rows<{ name: string }>(
    sql`delete from leases where name = ${options.name} and owner = ${options.owner} returning name`,
  );
  return rows.length > 0;
}
