import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { ts } from "../sql-values.js";

/**
 * Makes every leased row due now. Only for PGlite at start: one process owns the data directory, so any
 * lease found there belongs to a previous run of this relay that died, and waiting for it helps no one.
 */
export async function releaseAllClaims(db: Database, now: Date): Promise<{ polls: number; deliveries: number }> {
  const polls = await db.rows<{ id: string }>(
    sql`update polls set next_poll_at = ${ts(now)}, locked_by = null, claim_seq = claim_seq + 1
        where status = 'active' and locked_by is not null returning id`,
  );
  const deliveries = await db.rows<{ id: string }>(
    sql`update deliveries set next_attempt_at = ${ts(now)}, locked_by = null, claim_seq = claim_seq + 1
        where status = 'pending' and locked_by is not null returning id`,
  );
  return { polls: polls.length, deliveries: deliveries.length };
}
