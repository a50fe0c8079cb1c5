import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { TERMINAL_EVENTS } from "../../domain/events.js";
import { textList, ts } from "../sql-values.js";

/**
 * Re-queues the tenant's FAILED deliveries whose last attempt falls in [since, until), oldest first, at most
 * `limit`, one statement per batch of `batchSize`: each becomes a new series of attempts marked `manual`
 * (same row, so the same `webhook-id`; last_error kept until the next attempt), and a `failed` watch whose
 * final event is re-queued goes back to `delivering`. Deliveries of canceled watches stay as they are.
 * Batches walk the failed-deliveries index by (last_attempt_at, id) from where the previous one stopped, so a
 * delivery that fails again meanwhile is not picked twice and skipped rows are not scanned again.
 * Each batch locks the watches first (as cancel, redeliver and prune do): a concurrent cancel or prune wins cleanly.
 * @returns how many deliveries were re-queued
 */
export async function recoverDeliveries(
  db: Database,
  options: { tenantId: string; since: Date; until: Date; now: Date; limit?: number; batchSize?: number },
): Promise<number> {
  const { tenantId, since, until, now } = options;
  const limit = options.limit ?? 10_000;
  const batchSize = options.batchSize ?? 500;
  let queued = 0;
  let after: { at: string; id: string } | undefined;
  while (queued < limit) {
    const take = Math.min(batchSize, limit - queued);
    const cursor = after
      ? sql`and d.last_attempt_at >= ${after.at}::timestamptz and (d.last_attempt_at, d.id) > (${after.at}::timestamptz, ${after.id})`
      : sql``;
    const [row] = await db.rows<{ picked: number; requeued: number; last_at: string | null; last_id: string | null }>(sql`
      with picked as materialized (
        select d.id, d.last_attempt_at
        from deliveries d join watches w on w.id = d.watch_id
        where d.tenant_id = ${tenantId} and d.status = 'failed'
          and d.last_attempt_at >= ${ts(since)} and d.last_attempt_at < ${ts(until)} ${cursor}
          and w.status <> 'canceled'
        order by d.last_attempt_at, d.id
        limit ${take}::int
        for no key update of w
      ),
      requeued as (
        update deliveries d
        set status = 'pending', series_attempts = 0, next_trigger = 'manual', next_attempt_at = ${ts(now)},
            claim_seq = d.claim_seq + 1, locked_by = null, updated_at = ${ts(now)}
        from picked
        where d.id = picked.id and d.status = 'failed'
        returning d.watch_id, d.event
      ),
      reopened as (
        update watches w
        set status = 'delivering', last_error = null, updated_at = ${ts(now)}
        from requeued r
        where w.id = r.watch_id and w.status = 'failed' and r.event in ${textList(TERMINAL_EVENTS)}
      ),
      last as (select id, last_attempt_at from picked order by last_attempt_at desc, id desc limit 1)
      select (select count(*)::int from picked) as picked, (select count(*)::int from requeued) as requeued,
             (select last_attempt_at::text from last) as last_at, (select id from last) as last_id`);
    if (!row) break;
    queued += row.requeued;
    if (row.picked < take || row.last_at === null || row.last_id === null) break;
    after = { at: row.last_at, id: row.last_id }; // as text: keeps the column's microseconds
  }
  return queued;
}
