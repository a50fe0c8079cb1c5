import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { ts } from "../sql-values.js";

export type RedeliverResult =
  | { kind: "queued"; deliveryId: string }
  | { kind: "not_found" }
  | { kind: "watching" }
  | { kind: "canceled" }
  | { kind: "nothing" };

/**
 * Sends a watch's latest event again as a new series of attempts: same row, so the same `webhook-id`,
 * with the schedule restarting from an immediate attempt marked `manual`. A final event being redelivered
 * puts the watch back to `delivering` until it is acknowledged again.
 */
export async function redeliverWatch(db: Database, tenantId: string, watchId: string, now: Date): Promise<RedeliverResult> {
  return db.orm.transaction(async (tx) => {
    const [watch] = await db.rows<{ status: string }>(
      sql`select status from watches where tenant_id = ${tenantId} and id = ${watchId} for update`,
      tx,
    );
    if (!watch) return { kind: "not_found" };
    if (watch.status === "watching") return { kind: "watching" };
    if (watch.status === "canceled") return { kind: "canceled" };

    const [latest] = await db.rows<{ id: string; event: string }>(
      sql`select id, event from deliveries where watch_id = ${watchId} order by rank desc, created_at desc limit 1 for update`,
      tx,
    );
    if (!latest) return { kind: "nothing" };

    await db.rows(
      sql`update deliveries
          set status = 'pending', series_attempts = 0, next_trigger = 'manual', next_attempt_at = ${ts(now)},
              claim_seq = claim_seq + 1, locked_by = null, updated_at = ${ts(now)}
          where id = ${latest.id}`,
      tx,
    );
    if (watch.status === "delivered" || watch.status === "failed") {
      await db.rows(
        sql`update watches set status = 'delivering', last_error = null, updated_at = ${ts(now)} where id = ${watchId}`,
        tx,
      );
    }
    return { kind: "queued", deliveryId: latest.id };
  });
}
