import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { ts } from "../sql-values.js";

/**
 * Marks this relay alive until `now + ttlMs` and counts the relays alive (a row per process in `leases`,
 * named `relay:<worker id>`): how many share UPSTREAM_MAX_RPS.
 */
export async function heartbeat(db: Database, options: { workerId: string; now: Date; ttlMs: number }): Promise<number> {
  const name = `relay:${options.workerId}`;
  const until = new Date(options.now.getTime() + options.ttlMs);
  await db.rows(
    sql`insert into leases (name, owner, expires_at) values (${name}, ${options.workerId}, ${ts(until)})
        on conflict (name) do update set expires_at = excluded.expires_at`,
  );
  const [row] = await db.rows<{ n: number }>(
    sql`select count(*)::int as n from leases where name like 'relay:%' and expires_at > ${ts(options.now)}`,
  );
  // Old rows of dead processes are harmless (expired) but tidy them now and then.
  await db.rows(sql`delete from leases where name like 'relay:%' and expires_at < ${ts(options.now)} - interval '1 hour'`);
  return Math.max(1, row?.n ?? 1);
}
