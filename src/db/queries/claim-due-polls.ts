import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { ts } from "../sql-values.js";

/** A poll row leased to this process for one upstream request. */
export interface ClaimedPoll {
  id: string;
  tenantId: string;
  jobId: string;
  /** Fencing token: the write-back only applies if no later claim took the row. */
  claimSeq: number;
  intervalMs: number;
  /** The status whose event was last emitted for this job (null: none yet, or reactivated by a new watch). */
  emittedStatus: string | null;
  notFoundCount: number;
  errorCount: number;
}

/**
 * Leases up to `limit` due polls: `FOR UPDATE SKIP LOCKED` lets several relays claim side by side, and
 * moving `next_poll_at` to the end of the lease takes the rows out of the due range at once, so the next
 * claim never rescans them and a process that dies only delays them by the lease.
 */
export async function claimDuePolls(
  db: Database,
  options: { workerId: string; limit: number; now: Date; leaseMs: number },
): Promise<ClaimedPoll[]> {
  const { workerId, limit, now, leaseMs } = options;
  const rows = await db.rows<{
    id: string;
    tenant_id: string;
    job_id: string;
    claim_seq: number;
    interval_ms: number;
    emitted_status: string | null;
    not_found_count: number;
    error_count: number;
  }>(sql`
    with due as materialized (
      select id from polls
      where status = 'active' and next_poll_at <= ${ts(now)}
      order by next_poll_at
      limit ${limit}::int
      for update skip locked
    )
    update polls p
    set next_poll_at = ${ts(now)} + ${leaseMs}::int * interval '1 millisecond',
        claim_seq = p.claim_seq + 1,
        locked_by = ${workerId}
    from due
    where p.id = due.id
    returning p.id, p.tenant_id, p.job_id, p.claim_seq, p.interval_ms, p.emitted_status, p.not_found_count, p.error_count`);
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    jobId: r.job_id,
    claimSeq: r.claim_seq,
    intervalMs: r.interval_ms,
    emittedStatus: r.emitted_status,
    notFoundCount: r.not_found_count,
    errorCount: r.error_count,
  }));
}
