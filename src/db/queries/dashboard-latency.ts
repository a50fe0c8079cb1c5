import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { TERMINAL_EVENTS } from "../../domain/events.js";
import { FINISHED_WATCH_STATUSES } from "../../domain/watch.js";
import { literalList, textList, ts } from "../sql-values.js";

/** Notify latency of the deliveries acknowledged in one minute. */
export interface LatencyBucket {
  /** Start of the minute. */
  at: Date;
  count: number;
  p50Ms: number;
  p95Ms: number;
}

const MINUTE_MS = 60_000;

/**
 * Notify latency (terminal job status seen by a poll → receiver acknowledged the event, the measure of the
 * rendley_relay_notify_latency_seconds metric) of a tenant's terminal events acknowledged in the hour
 * before `now`, per minute, p50 and p95 computed in SQL over plain ranges (no function of a column).
 * Redelivered events (a later series of attempts) are left out: their latency measures the operator.
 * @returns only minutes with at least one acknowledgement, oldest first
 */
export async function notifyLatencyByMinute(
  db: Database,
  options: { tenantId: string; now: Date; windowMs?: number },
): Promise<LatencyBucket[]> {
  const windowMs = options.windowMs ?? 60 * MINUTE_MS;
  // Whole minutes, so a bucket means the same minute from one page load to the next.
  const end = new Date(Math.ceil(options.now.getTime() / MINUTE_MS) * MINUTE_MS);
  const start = new Date(end.getTime() - windowMs);
  // deliveries has no index on delivered_at: the window is found through watches instead. A watch turns
  // `delivered` (updated_at = delivered_at) when its terminal event is acknowledged, so the partial index of
  // finished watches by updated_at yields exactly the hour's candidates, however large the tables grow.
  const rows = await db.rows<{ bucket: number; n: number | string; p50: number | string; p95: number | string }>(sql`
    select floor(extract(epoch from (d.delivered_at - ${ts(start)})) / 60)::int as bucket,
           count(*) as n,
           percentile_cont(0.5) within group (order by extract(epoch from (d.delivered_at - d.created_at)) * 1000) as p50,
           percentile_cont(0.95) within group (order by extract(epoch from (d.delivered_at - d.created_at)) * 1000) as p95
    from watches w
    join deliveries d on d.watch_id = w.id and d.event in ${textList(TERMINAL_EVENTS)}
    where w.status in ${literalList(FINISHED_WATCH_STATUSES)} and w.status = 'delivered'
      and w.updated_at >= ${ts(start)} and w.tenant_id = ${options.tenantId}
      and d.status = 'delivered' and d.delivered_at >= ${ts(start)} and d.delivered_at < ${ts(end)}
      and d.series_attempts = d.total_attempts
    group by 1
    order by 1`);
  return rows.map((r) => ({
    at: new Date(start.getTime() + r.bucket * MINUTE_MS),
    count: Number(r.n),
    p50Ms: Math.max(0, Math.round(Number(r.p50))),
    p95Ms: Math.max(0, Math.round(Number(r.p95))),
  }));
}
