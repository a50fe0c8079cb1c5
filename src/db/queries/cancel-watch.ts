import { sql, type SQL } from "drizzle-orm";
import type { JobService } from "../../domain/job.js";
import type { Database, Executor } from "../client.js";
import { ts } from "../sql-values.js";

export type CancelWatchResult =
  { kind: "canceled"; jobId: string; service: JobService } | { kind: "not_found" } | { kind: "finished"; status: string };

/**
 * Cancels a watch that is still `watching` or `delivering` (see {@link cancelRunningWatches}); a watch that
 * already finished is left as it is.
 */
export async function cancelWatch(db: Database, tenantId: string, watchId: string, now: Date): Promise<CancelWatchResult> {
  return db.orm.transaction(async (tx) => {
    const [canceled] = await cancelRunningWatches(db, tx, sql`tenant_id = ${tenantId} and id = ${watchId}`, now);
    if (canceled) return { kind: "canceled", jobId: canceled.job_id, service: canceled.service };
    const [watch] = await db.rows<{ status: string }>(
      sql`select status from watches where tenant_id = ${tenantId} and id = ${watchId}`,
      tx,
    );
    return watch ? { kind: "finished", status: watch.status } : { kind: "not_found" };
  });
}

/**
 * Cancels the watches matching `which` (a condition on `watches`) that are still `watching` or `delivering`: no
 * more polls or callbacks for them, in four statements whatever their number. Their pending deliveries are
 * failed and their claim_seq bumped, so an attempt in flight right now cannot write a retry back; each job's poll
 * goes idle when no other watch still needs it. The polls are locked before the watches, the order a poll's
 * write-back (`recordPollResults`) takes them in; the other order deadlocks with it.
 * @returns the watches canceled
 */
export async function cancelRunningWatches(
  db: Database,
  tx: Executor,
  which: SQL,
  now: Date,
): Promise<{ id: string; poll_id: string; job_id: string; service: JobService }[]> {
  const at = ts(now);
  await db.rows(
    sql`select id from polls
        where id in (select poll_id from watches where ${which} and status in ('watching', 'delivering'))
        order by id
        for update`,
    tx,
  );
  const canceled = await db.rows<{ id: string; poll_id: string; job_id: string; service: JobService }>(
    sql`update watches set status = 'canceled', last_error = null, updated_at = ${at}
        where ${which} and status in ('watching', 'delivering')
        returning id, poll_id, job_id, service`,
    tx,
  );
  if (canceled.length === 0) return [];
  const watchIds = JSON.stringify(canceled.map((w) => w.id));
  const pollIds = JSON.stringify([...new Set(canceled.map((w) => w.poll_id))]);
  await db.rows(
    sql`update deliveries
        set status = 'failed', last_error = 'canceled: the watch was canceled', claim_seq = claim_seq + 1,
            locked_by = null, updated_at = ${at}
        where watch_id in (select jsonb_array_elements_text(${watchIds}::jsonb)) and status = 'pending'`,
    tx,
  );
  await db.rows(
    sql`update polls p set status = 'idle', locked_by = null, updated_at = ${at}
        where p.id in (select jsonb_array_elements_text(${pollIds}::jsonb)) and p.status = 'active'
          and not exists (select 1 from watches w where w.poll_id = p.id and w.status = 'watching')`,
    tx,
  );
  return canceled;
}
