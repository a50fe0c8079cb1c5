import { sql } from "drizzle-orm";
import { buildEventBody, eventRank, type EventType } from "../../domain/events.js";
import { newId } from "../../lib/ids.js";
import type { Random } from "../../lib/random.js";
import type { UpstreamJob } from "../../domain/job.js";
import type { Database, Executor } from "../client.js";
import { records, toJson, ts } from "../sql-values.js";

/** The columns of a watch that shape its deliveries. */
export interface WatchForDelivery {
  id: string;
  tenant_id: string;
  job_id: string;
  callback_url: string;
  metadata: unknown;
  retry_schedule_ms: number[] | null;
  callback_headers: unknown;
}

/** The select list that yields a WatchForDelivery (keep in step with the interface). */
export const WATCH_FOR_DELIVERY_COLUMNS = sql.raw(
  "id, tenant_id, job_id, callback_url, metadata, retry_schedule_ms, callback_headers",
);

export interface DeliveryEvent {
  type: EventType;
  observedAt: Date;
  /** The job as fetched (null for watch.expired of a job never seen). */
  job: UpstreamJob | null;
  /** When `job` was fetched from Rendley. */
  jobFetchedAt: Date | null;
  reason?: string | undefined;
}

/**
 * Creates the event message of each (watch, event) pair, due now: the body is built and serialised once
 * here (it is signed as these exact bytes on every attempt), and the watch's own schedule and headers
 * travel with it. A pair that already has its message is left alone (`on conflict do nothing`).
 */
export async function insertDeliveries(
  db: Database,
  executor: Executor,
  items: readonly { watch: WatchForDelivery; event: DeliveryEvent }[],
  ctx: { now: Date; random: Random },
): Promise<void> {
  if (items.length === 0) return;
  const rows = items.map(({ watch, event }) => ({
    id: newId("msg", ctx.random, ctx.now.getTime()),
    tenant_id: watch.tenant_id,
    watch_id: watch.id,
    event: event.type,
    rank: eventRank(event.type),
    callback_url: watch.callback_url,
    origin: new URL(watch.callback_url).origin,
    body: buildEventBody({
      type: event.type,
      observedAt: event.observedAt,
      watchId: watch.id,
      jobId: watch.job_id,
      job: event.job,
      metadata: toJson<Record<string, unknown>>(watch.metadata),
      ...(event.reason ? { reason: event.reason } : {}),
    }),
    job_fetched_at: event.jobFetchedAt?.toISOString() ?? null,
    retry_schedule_ms: watch.retry_schedule_ms,
    extra_headers: toJson(watch.callback_headers),
  }));
  await db.rows(
    sql`
      insert into deliveries (id, tenant_id, watch_id, event, rank, callback_url, origin, body, job_fetched_at, retry_schedule_ms,
                              extra_headers, status, next_attempt_at, created_at, updated_at)
      select d.id, d.tenant_id, d.watch_id, d.event, d.rank, d.callback_url, d.origin, d.body, d.job_fetched_at,
             d.retry_schedule_ms,
             d.extra_headers, 'pending', ${ts(ctx.now)}, ${ts(ctx.now)}, ${ts(ctx.now)}
      from jsonb_to_recordset(${records(rows)})
        as d(id text, tenant_id text, watch_id text, event text, rank smallint, callback_url text, origin text, body text,
             job_fetched_at timestamptz, retry_schedule_ms int[], extra_headers jsonb)
      on conflict (watch_id, event) do nothing`,
    executor,
  );
}
