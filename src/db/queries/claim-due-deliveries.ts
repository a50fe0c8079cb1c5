import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { runClaim } from "../run-claim.js";
import { textList, toDate, toJson, ts } from "../sql-values.js";
import type { ClaimedDelivery } from "../../domain/delivery.js";

/**
 * Leases up to `limit` due deliveries. A delivery waits while an earlier-ranked event of the same watch is
 * still pending, so `job.processing` always reaches the receiver before the final event. The attempt counts
 * from the claim: a process killed mid-request has used that attempt (as graphile-worker and River do).
 * @param options.skipOrigins origins this process will not call now (at their concurrency cap)
 * @param options.skipTenantOrigins `<tenant> <origin>` pairs paused by their circuit breaker
 */
export async function claimDueDeliveries(
  db: Database,
  options: {
    workerId: string;
    limit: number;
    /** The database's time as the caller wants it (a fake clock in tests); unset: the database's own `now()`. */
    now?: Date | undefined;
    leaseMs: number;
    skipOrigins?: readonly string[];
    skipTenantOrigins?: readonly string[];
    /** More is due than this claim takes (the last one came back full): walk the due index in order (runClaim). */
    backlog?: boolean;
  },
): Promise<ClaimedDelivery[]> {
  const { workerId, limit, leaseMs } = options;
  const now = options.now ? ts(options.now) : sql`now()`;
  const skipOrigins = options.skipOrigins?.length ? sql`and d.origin not in ${textList(options.skipOrigins)}` : sql``;
  const skipPairs = options.skipTenantOrigins?.length
    ? sql`and (d.tenant_id || ' ' || d.origin) not in ${textList(options.skipTenantOrigins)}`
    : sql``;
  const rows = await runClaim<{
    id: string;
    tenant_id: string;
    watch_id: string;
    event: string;
    callback_url: string;
    origin: string;
    body: string;
    job_fetched_at: Date | string | null;
    retry_schedule_ms: number[] | null;
    extra_headers: unknown;
    claim_seq: number;
    series_attempts: number;
    total_attempts: number;
    next_trigger: string;
  }>(
    db,
    sql`
    with due as materialized (
      select d.id from deliveries d
      where d.status = 'pending' and d.next_attempt_at <= ${now}
        ${skipOrigins} ${skipPairs}
        and not exists (
          select 1 from deliveries e
          where e.watch_id = d.watch_id and e.status = 'pending' and e.rank < d.rank)
      order by d.next_attempt_at
      limit ${limit}::int
      for update skip locked
    )
    update deliveries d
    set next_attempt_at = ${now} + ${leaseMs}::int * interval '1 millisecond',
        claim_seq = d.claim_seq + 1,
        locked_by = ${workerId},
        series_attempts = d.series_attempts + 1,
        total_attempts = d.total_attempts + 1
    from due
    where d.id = due.id
    returning d.id, d.tenant_id, d.watch_id, d.event, d.callback_url, d.origin, d.body, d.job_fetched_at, d.retry_schedule_ms,
              d.extra_headers, d.claim_seq, d.series_attempts, d.total_attempts, d.next_trigger`,
    { backlog: options.backlog ?? false },
  );
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    watchId: r.watch_id,
    event: r.event,
    callbackUrl: r.callback_url,
    origin: r.origin,
    body: r.body,
    jobFetchedAt: toDate(r.job_fetched_at),
    retryScheduleMs: r.retry_schedule_ms,
    extraHeaders: toJson<Record<string, string>>(r.extra_headers),
    claimSeq: r.claim_seq,
    seriesAttempt: r.series_attempts,
    attempt: r.total_attempts,
    trigger: r.next_trigger === "manual" ? "manual" : "scheduled",
  }));
}
