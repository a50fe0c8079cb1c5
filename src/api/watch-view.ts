import type { Database } from "../db/client.js";
import { loadWatches, type DeliveryRecord, type LoadedWatch, type WatchRecord } from "../db/queries/load-watches.js";
import type { JobService, UpstreamJob } from "../domain/job.js";
import type { AttemptTrigger, DeliveryStatus, WatchStatus } from "../domain/watch.js";
import { formatDurationMs } from "../lib/duration.js";

export interface AttemptView {
  attempt: number;
  trigger: AttemptTrigger;
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
  status: DeliveryStatus;
  attempts: AttemptView[];
  next_attempt_at: string | null;
  delivered_at: string | null;
  last_error: string | null;
}

/** The API's Watch object. */
export interface WatchView {
  id: string;
  job_id: string;
  service: JobService;
  subscription_id: string | null;
  callback_url: string;
  events: string[];
  metadata: Record<string, unknown> | null;
  retry_schedule: string | null;
  callback_headers: Record<string, "[redacted]"> | null;
  status: WatchStatus;
  job_status: string | null;
  job: UpstreamJob | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  deliveries: DeliveryView[];
}

export const iso = (d: Date | null) => d?.toISOString() ?? null;

/** An own retry schedule as the API shows it (`5s,1m`, `none` for no retries), or null for the relay's. */
export function formatRetrySchedule(ms: readonly number[] | null): string | null {
  return ms ? ms.map(formatDurationMs).join(",") || "none" : null;
}

/** Header values are write-only: the API shows which headers are set, never their values. */
export function redact(headers: Record<string, string> | null): Record<string, "[redacted]"> | null {
  return headers ? Object.fromEntries(Object.keys(headers).map((name) => [name, "[redacted]" as const])) : null;
}

function toDeliveryView(d: DeliveryRecord): DeliveryView {
  return {
    id: d.id,
    event: d.event,
    status: d.status,
    attempts: d.attempts.map((a) => ({
      attempt: a.attempt,
      trigger: a.trigger,
      at: a.at.toISOString(),
      status_code: a.statusCode,
      duration_ms: a.durationMs,
      error: a.error,
      response_excerpt: a.responseExcerpt,
      location: a.location,
    })),
    next_attempt_at: d.status === "pending" ? iso(d.nextAttemptAt) : null,
    delivered_at: iso(d.deliveredAt),
    last_error: d.lastError,
  };
}

/** The API's Watch object (a watch just created has no deliveries yet). */
export function toWatchView(w: WatchRecord | LoadedWatch): WatchView {
  return {
    id: w.id,
    job_id: w.jobId,
    service: w.service,
    subscription_id: w.subscriptionId,
    callback_url: w.callbackUrl,
    events: w.events,
    metadata: w.metadata,
    retry_schedule: formatRetrySchedule(w.retryScheduleMs),
    callback_headers: redact(w.callbackHeaders),
    status: w.status,
    job_status: w.jobStatus,
    job: w.job,
    last_error: w.lastError,
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
    deliveries: "deliveries" in w ? w.deliveries.map(toDeliveryView) : [],
  };
}

/** Watch objects for a page of ids (three queries whatever the page size), in the order of `ids`. */
export async function loadWatchViews(db: Database, tenantId: string, ids: readonly string[]): Promise<WatchView[]> {
  return (await loadWatches(db, tenantId, ids)).map(toWatchView);
}
