import { sql } from "drizzle-orm";
import type { JobService } from "../../domain/job.js";
import type { Database } from "../client.js";
import { ts } from "../sql-values.js";

export type CancelWatchResult =
  { kind: "canceled"; jobId: string; service: JobService } | { kind: "not_found" } | { kind: "finished"; status: string };

/**
 * Cancels a watch that is still `watching` or `delivering`: no more polls or callbacks for it. Its pending
 * deliveries are failed and their claim_seq bumped, so an attempt in flight right now cannot write a retry
 * back; the job's poll goes idle when no other watch still needs it. The poll row is locked before the watch, as
 * `recordPollResults` does.
 */
export async function cancelWatch(db: Database, tenantId: string, watchId: string, now: Date): Promise<CancelWatchResult> {
  return db.orm.transaction(async (tx) => {
    // Locks in the order a poll's write-back takes them (the poll, then its watches), or the two deadlock.
    await db.rows(
      sql`select p.id from polls p join watches w on w.poll_id = p.id
          where w.tenant_id = ${tenantId} and w.id = ${watchId} for update of p`,
      tx,
    );
    const [watch] = await db.rows<{ status: string; poll_id: string; job_id: string; service: JobService }>(
      sql`select status, poll_id, job_id, service from watches where tenant_id = ${tenantId} and id = ${watchId} for update`,
      tx,
    );
    if (!watch) return { kind: "not_found" };
    if (watch.status !== "watching" && watch.status !== "delivering") return { kind: "finished", status: watch.status };

    await db.rows(
      sql`update watches set status = 'canceled', last_error = null, updated_at = ${ts(now)} where id = ${watchId}`,
      tx,
    );
    await db.rows(
      sql`update deliveries
          set status = 'failed', last_error = 'canceled: the watch was canceled', claim_seq = claim_seq + 1,
              locked_by = null, updated_at = ${ts(now)}
          where watch_id = ${watchId} and status = 'pending'`,
      tx,
    );
    await db.rows(
      sql`update polls set status = 'idle', locked_by = null, updated_at = ${ts(now)}
          where id = ${watch.poll_id} and status = 'active'
            and not exists (select 1 from watches where poll_id = ${watch.poll_id} and status = 'watching')`,
      tx,
    );
    return { kind: "canceled", jobId: watch.job_id, service: watch.service };
  });
}
