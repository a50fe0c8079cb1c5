import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { FINISHED_WATCH_STATUSES } from "../../domain/watch.js";
import { literalList, textList, ts } from "../sql-values.js";

/** Rows one prune removed. */
export interface PruneSummary {
  watches: number;
  deliveries: number;
  attempts: number;
  polls: number;
}

/** As literals: the partial index of finished watches (watches_finished_updated_idx) must match at plan time. */
const FINISHED = literalList(FINISHED_WATCH_STATUSES);

/**
 * Deletes ONE batch of finished watches last changed before `olderThan`, with their deliveries and attempts,
 * then the polls of that batch left without any watch (and not active). A watch with a pending delivery (a
 * redelivery in progress) is kept. Every statement is bounded by the batch:
 * - the watches are locked `for update skip locked`, so the hot paths (cancel, redeliver, recover, which lock
 *   the watch first) are never blocked and two prunes never pick the same watch;
 * - after the lock the pending check runs again on a fresh snapshot: a recovery that committed between the
 *   pick's snapshot and its lock would otherwise lose its re-queued delivery;
 * - the batch's polls are locked in id order before the orphan check: two prunes removing the last two
 *   watches of one job would each still see the other's watch and both keep the poll forever.
 */
export async function pruneFinished(
  db: Database,
  options: { tenantId?: undefined | string; olderThan: Date; batchSize: number },
): Promise<PruneSummary> {
  const { tenantId, olderThan, batchSize } = options;
  const byTenant = tenantId === undefined ? sql`` : sql`and w.tenant_id = ${tenantId}`;
  return db.orm.transaction(async (tx) => {
    const picked = await db.rows<{ id: string }>(
      sql`
        select w.id from watches w
        where w.status in ${FINISHED} and w.updated_at < ${ts(olderThan)} ${byTenant}
          and not exists (select 1 from deliveries d where d.watch_id = w.id and d.status = 'pending')
        limit ${batchSize}::int
        for update skip locked`,
      tx,
    );
    if (picked.length === 0) return { watches: 0, deliveries: 0, attempts: 0, polls: 0 };

    const batch = await db.rows<{ id: string; poll_id: string }>(
      sql`
        select w.id, w.poll_id from watches w
        where w.id in ${textList(picked.map((p) => p.id))} and w.status in ${FINISHED}
          and not exists (select 1 from deliveries d where d.watch_id = w.id and d.status = 'pending')`,
      tx,
    );
    if (batch.length === 0) return { watches: 0, deliveries: 0, attempts: 0, polls: 0 };
    const watchIds = textList(batch.map((w) => w.id));
    const pollIds = textList([...new Set(batch.map((w) => w.poll_id))]);

    const count = async (query: ReturnType<typeof sql>) =>
      (await db.rows<{ n: number }>(sql`with gone as (${query}) select count(*)::int as n from gone`, tx))[0]?.n ?? 0;

    const attempts = await count(sql`
      delete from delivery_attempts
      where delivery_id in (select id from deliveries where watch_id in ${watchIds})
      returning 1`);
    const deliveries = await count(sql`delete from deliveries where watch_id in ${watchIds} returning 1`);
    const watches = await count(sql`delete from watches where id in ${watchIds} returning 1`);
    await db.rows(sql`select id from polls where id in ${pollIds} and status <> 'active' order by id for update`, tx);
    // (tenant_id, job_id) finds a poll's watches through watches_tenant_job_created_idx; poll_id has no full index.
    const polls = await count(sql`
      delete from polls p
      where p.id in ${pollIds} and p.status <> 'active'
        and not exists (select 1 from watches w where w.tenant_id = p.tenant_id and w.job_id = p.job_id and w.poll_id = p.id)
      returning 1`);
    return { watches, deliveries, attempts, polls };
  });
}
