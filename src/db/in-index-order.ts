import { sql, type SQL } from "drizzle-orm";
import type { Database } from "./client.js";

/**
 * Runs a claim so that Postgres walks the due index in order and stops at the claim's `limit`.
 *
 * Planned from statistics taken before a burst (thousands of rows made due within seconds, before
 * autovacuum's next analyze; PGlite has no autovacuum at all), a claim gets a bitmap scan instead: it reads
 * every due row, runs the per-row checks on each and sorts them all, only to lock `limit` of them. Measured:
 * 94 ms instead of 1 ms to claim 87 of 20,000 due deliveries, which capped the delivery rate of a burst.
 * Bitmap and sequential scans are turned off for this one transaction (`set_config(…, true)`), so the
 * planner takes the partial index in order whatever the statistics say. graphile-worker and River get the
 * same plan by matching their index to the claim's order; the settings make it certain here.
 */
export function inIndexOrder<T>(db: Database, query: SQL): Promise<T[]> {
  return db.orm.transaction(async (tx) => {
    await db.rows(sql`select set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)`, tx);
    return db.rows<T>(query, tx);
  });
}
