import { sql } from "drizzle-orm";
import type { AttemptRecord } from "../../domain/delivery.js";
import type { JobService, UpstreamJob } from "../../domain/job.js";
import type { AttemptTrigger, DeliveryStatus, WatchStatus } from "../../domain/watch.js";
import type { Database } from "../client.js";
import { textList, toDate, toJson } from "../sql-values.js";

/** A watch with its job as last fetched. */
export interface WatchRecord {
  id: string;
  jobId: string;
  service: JobService;
  /** The subscription that discovered the job, or null. */
  subscriptionId: string | null;
  callbackUrl: string;
  events: string[];
  metadata: Record<string, unknown> | null;
  retryScheduleMs: number[] | null;
  callbackHeaders: Record<string, string> | null;
  status: WatchStatus;
  jobStatus: string | null;
  job: UpstreamJob | null;
  /** While watching, the job's latest upstream problem (a 5xx, a rejected key) is the watch's problem too. */
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One event message of a watch, with every attempt. */
export interface DeliveryRecord {
  id: string;
  event: string;
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  lastError: string | null;
  attempts: AttemptRecord[];
}

export interface LoadedWatch extends WatchRecord {
  /** In the order they are sent: rank, then creation. */
  deliveries: DeliveryRecord[];
}

/** A watch row joined with its poll, as selected by {@link WATCH_WITH_JOB_COLUMNS} (or built by createWatch). */
export interface WatchRow {
  id: string;
  job_id: string;
  service: string;
  subscription_id: string | null;
  callback_url: string;
  events: string[];
  metadata: unknown;
  retry_schedule_ms: number[] | null;
  callback_headers: unknown;
  status: WatchStatus;
  job_status: string | null;
  job: unknown;
  last_error: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export function toWatchRecord(r: WatchRow): WatchRecord {
  return {
    id: r.id,
    jobId: r.job_id,
    service: r.service as JobService,
    subscriptionId: r.subscription_id,
    callbackUrl: r.callback_url,
    events: r.events,
    metadata: toJson<Record<string, unknown>>(r.metadata),
    retryScheduleMs: r.retry_schedule_ms,
    callbackHeaders: toJson<Record<string, string>>(r.callback_headers),
    status: r.status,
    jobStatus: r.job_status,
    job: toJson<UpstreamJob>(r.job),
    lastError: r.last_error,
    createdAt: toDate(r.created_at)!,
    updatedAt: toDate(r.updated_at)!,
  };
}

/**
 * Loads whole watches for a page of ids in three queries (watches with their job, deliveries, attempts),
 * whatever the page size. Rows of other tenants are never returned. Order follows `ids`.
 */
export async function loadWatches(db: Database, tenantId: string, ids: readonly string[]): Promise<LoadedWatch[]> {
  if (ids.length === 0) return [];
  const watches = await db.rows<WatchRow>(sql`
    select w.id, w.job_id, w.service, w.subscription_id, w.callback_url, w.events, w.metadata, w.retry_schedule_ms, w.callback_headers, w.status, p.job_status, p.job,
           case when w.status = 'watching' then coalesce(w.last_error, p.last_error) else w.last_error end as last_error,
           w.created_at, w.updated_at
    from watches w join polls p on p.id = w.poll_id
    where w.tenant_id = ${tenantId} and w.id in ${textList(ids)}`);
  if (watches.length === 0) return [];

  const deliveries = await db.rows<{
    id: string;
    watch_id: string;
    event: string;
    status: DeliveryStatus;
    next_attempt_at: Date | string | null;
    delivered_at: Date | string | null;
    last_error: string | null;
  }>(sql`
    select id, watch_id, event, status, next_attempt_at, delivered_at, last_error
    from deliveries
    where tenant_id = ${tenantId} and watch_id in ${textList(watches.map((w) => w.id))}
    order by rank, created_at`);

  const attempts =
    deliveries.length === 0
      ? []
      : await db.rows<{
          delivery_id: string;
          attempt: number;
          trigger: AttemptTrigger;
          at: Date | string;
          status_code: number | null;
          duration_ms: number;
          error: string | null;
          response_excerpt: string | null;
          location: string | null;
        }>(sql`
          select delivery_id, attempt, trigger, at, status_code, duration_ms, error, response_excerpt, location
          from delivery_attempts
          where tenant_id = ${tenantId} and delivery_id in ${textList(deliveries.map((d) => d.id))}
          order by delivery_id, attempt`);

  const attemptsByDelivery = new Map<string, AttemptRecord[]>();
  for (const a of attempts) {
    const list = attemptsByDelivery.get(a.delivery_id) ?? [];
    list.push({
      attempt: a.attempt,
      trigger: a.trigger,
      at: toDate(a.at)!,
      statusCode: a.status_code,
      durationMs: a.duration_ms,
      error: a.error,
      responseExcerpt: a.response_excerpt,
      location: a.location,
    });
    attemptsByDelivery.set(a.delivery_id, list);
  }
  const deliveriesByWatch = new Map<string, DeliveryRecord[]>();
  for (const d of deliveries) {
    const list = deliveriesByWatch.get(d.watch_id) ?? [];
    list.push({
      id: d.id,
      event: d.event,
      status: d.status,
      nextAttemptAt: toDate(d.next_attempt_at),
      deliveredAt: toDate(d.delivered_at),
      lastError: d.last_error,
      attempts: attemptsByDelivery.get(d.id) ?? [],
    });
    deliveriesByWatch.set(d.watch_id, list);
  }

  const byId = new Map(watches.map((w) => [w.id, { ...toWatchRecord(w), deliveries: deliveriesByWatch.get(w.id) ?? [] }]));
  return ids.flatMap((id) => {
    const loaded = byId.get(id);
    return loaded ? [loaded] : [];
  });
}
