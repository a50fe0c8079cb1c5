import { sql } from "drizzle-orm";
import type { NewDelivery } from "../../domain/delivery.js";
import type { Database, Executor } from "../client.js";
import { records, ts } from "../sql-values.js";

/**
 * Stores event messages, due now, in one statement. A (watch, event) pair that already has its message is
 * left alone (`on conflict do nothing`).
 */
export async function insertDeliveries(
  db: Database,
  executor: Executor,
  deliveries: readonly NewDelivery[],
  now: Date,
): Promise<void> {
  if (deliveries.length === 0) return;
  const rows = deliveries.map((d) => ({
    id: d.id,
    tenant_id: d.tenantId,
    watch_id: d.watchId,
    event: d.event,
    rank: d.rank,
    callback_url: d.callbackUrl,
    origin: d.origin,
    body: d.body,
    job_fetched_at: d.jobFetchedAt?.toISOString() ?? null,
    retry_schedule_ms: d.retryScheduleMs,
    extra_headers: d.extraHeaders,
  }));
  await db.rows(
    sql`
      insert into deliveries (id, tenant_id, watch_id, event, rank, callback_url, origin, body, job_fetched_at, retry_schedule_ms,
                              extra_headers, status, next_attempt_at, created_at, updated_at)
      select d.id, d.tenant_id, d.watch_id, d.event, d.rank, d.callback_url, d.origin, d.body, d.job_fetched_at,
             d.retry_schedule_ms,
             d.extra_headers, 'pending', ${ts(now)}, ${ts(now)}, ${ts(now)}
      from jsonb_to_recordset(${records(rows)})
        as d(id text, tenant_id text, watch_id text, event text, rank smallint, callback_url text, origin text, body text,
             job_fetched_at timestamptz, retry_schedule_ms int[], extra_headers jsonb)
      on conflict (watch_id, event) do nothing`,
    executor,
  );
}
