import { sql } from "drizzle-orm";
import { formatDurationMs } from "../../lib/duration.js";
import type { UpstreamJob } from "../../domain/job.js";
import type { Database } from "../client.js";
import { textList, toDate, toJson } from "../sql-values.js";

export interface AttemptView {
  attempt: number;
  trigger: "scheduled" | "manual";
  at: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string | null;
  location: string | null;
}

export interface DeliveryView {
  id: string;
  event: string;
  status: "pending" | "delivered" | "failed";
  attempts: AttemptView[];
  next_attempt_at: string | null;
  delivered_at: string | null;
  last_error: string | null;
}

/** The API's Watch object. */
export interface WatchView {
  id: string;
  job_id: string;
  callback_url: string;
  events: string[];
  metadata: Record<string, unknown> | null;
  retry_schedule: string | null;
  callback_headers: Record<string, "[redacted]"> | null;
  status: "watching" | "delivering" | "delivered" | "failed" | "canceled" | "expired";
  job_status: string | null;
  job: UpstreamJob | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  deliveries: DeliveryView[];
}

const iso = (v: Date | string | null) => toDate(v)?.toISOString() ?? null;

/** Header values are write-only: the API shows which headers are set, never their values. */
function redact(headers: Record<string, string> | null): Record<string, "[redacted]"> | null {
  return headers ? Object.fromEntries(Object.keys(headers).map((name) => [name, "[redacted]" as const])) : null;
}

/** A watch row with its job, as the views are built from. */
export interface WatchRow {
  id: string;
  job_id: string;
  callback_url: string;
  events: string[];
  metadata: unknown;
  retry_schedule_ms: number[] | null;
  callback_headers: unknown;
  status: WatchView["status"];
  job_status: string | null;
  job: unknown;
  last_error: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

/** The API's Watch object from its row and its deliveries. */
export function toWatchView(w: WatchRow, deliveries: DeliveryView[] = []): WatchView {
  return {
    id: w.id,
    job_id: w.job_id,
    callback_url: w.callback_url,
    events: w.events,
    metadata: toJson<Record<string, unknown>>(w.metadata),
    retry_schedule: w.retry_schedule_ms ? w.retry_schedule_ms.map(formatDurationMs).join(",") || "none" : null,
    callback_headers: redact(toJson<Record<string, string>>(w.callback_headers)),
    status: w.status,
    job_status: w.job_status,
    job: toJson<UpstreamJob>(w.job),
    last_error: w.last_error,
    created_at: iso(w.created_at) ?? "",
    updated_at: iso(w.updated_at) ?? "",
    deliveries,
  };
}

/**
 * Loads complete Watch objects for a page of ids in three queries (watches with their job, deliveries,
 * attempts), whatever the page size. Rows of other tenants are never returned. Order follows `ids`.
 */
export async function loadWatchViews(db: Database, tenantId: string, ids: readonly string[]): Promise<WatchView[]> {
  if (ids.length === 0) return [];
  const watches = await db.rows<WatchRow>(sql`
    select w.id, w.job_id, w.callback_url, w.events, w.metadata, w.retry_schedule_ms, w.callback_headers, w.status, p.job_status, p.job,
           -- While watching, the latest upstream problem (a 5xx, a rejected key) is the watch's problem too.
           case when w.status = 'watching' then coalesce(w.last_error, p.last_error) else w.last_error end as last_error,
           w.created_at, w.updated_at
    from watches w join polls p on p.id = w.poll_id
    where w.tenant_id = ${tenantId} and w.id in ${textList(ids)}`);
  if (watches.length === 0) return [];

  const deliveries = await db.rows<{
    id: string;
    watch_id: string;
    event: string;
    status: DeliveryView["status"];
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
          trigger: AttemptView["trigger"];
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

  const attemptsByDelivery = new Map<string, AttemptView[]>();
  for (const a of attempts) {
    const list = attemptsByDelivery.get(a.delivery_id) ?? [];
    list.push({
      attempt: a.attempt,
      trigger: a.trigger,
      at: iso(a.at) ?? "",
      status_code: a.status_code,
      duration_ms: a.duration_ms,
      error: a.error,
      response_excerpt: a.response_excerpt,
      location: a.location,
    });
    attemptsByDelivery.set(a.delivery_id, list);
  }
  const deliveriesByWatch = new Map<string, DeliveryView[]>();
  for (const d of deliveries) {
    const list = deliveriesByWatch.get(d.watch_id) ?? [];
    list.push({
      id: d.id,
      event: d.event,
      status: d.status,
      attempts: attemptsByDelivery.get(d.id) ?? [],
      next_attempt_at: d.status === "pending" ? iso(d.next_attempt_at) : null,
      delivered_at: iso(d.delivered_at),
      last_error: d.last_error,
    });
    deliveriesByWatch.set(d.watch_id, list);
  }

  const byId = new Map(watches.map((w) => [w.id, toWatchView(w, deliveriesByWatch.get(w.id) ?? [])]));
  return ids.flatMap((id) => {
    const view = byId.get(id);
    return view ? [view] : [];
  });
}
