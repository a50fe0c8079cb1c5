import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { ts } from "../sql-values.js";

/**
 * Makes every leased delivery due now. Only for PGlite at start: one process owns the data directory, so
 * any lease found there belongs to a previous run of this relay that died, and waiting for it helps no one.
 * (Polls hold no lease: a claim schedules the next poll, so a dead process leaves nothing to release.)
 */
export async function releaseAllClaims(db: Database, now: Date): Promise<{ deliveries: number }> {
  const deliveries = await db.rows<{ id: string }>(
    sql`update deliveries set next_attempt_at = ${ts(now)}, locked_by = null, claim_seq = claim_seq + 1
        where status = 'pending' and locked_by is not null returning id`,
  );
  return { deliveries: deliveries.length };
}
