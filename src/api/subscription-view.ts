import type { SubscriptionRecord } from "../db/queries/subscriptions.js";
import type { SubscriptionFilter, SubscriptionStatus } from "../domain/subscription.js";
import { formatRetrySchedule, iso, redact } from "./watch-view.js";

/** The API's Subscription object. */
export interface SubscriptionView {
  id: string;
  status: SubscriptionStatus;
  filter: SubscriptionFilter;
  callback_url: string;
  events: string[];
  metadata: Record<string, unknown> | null;
  retry_schedule: string | null;
  callback_headers: Record<string, "[redacted]"> | null;
  include_existing: boolean;
  baseline_at: string | null;
  last_listed_at: string | null;
  last_job_count: number | null;
  last_error: string | null;
  discovered_count: number;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export function toSubscriptionView(s: SubscriptionRecord): SubscriptionView {
  return {
    id: s.id,
    status: s.status,
    filter: s.filter,
    callback_url: s.callbackUrl,
    events: s.events,
    metadata: s.metadata,
    retry_schedule: formatRetrySchedule(s.retryScheduleMs),
    callback_headers: redact(s.callbackHeaders),
    include_existing: s.includeExisting,
    baseline_at: iso(s.baselineAt),
    last_listed_at: iso(s.lastListedAt),
    last_job_count: s.lastJobCount,
    last_error: s.lastError,
    discovered_count: s.discoveredCount,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
    deleted_at: iso(s.deletedAt),
  };
}
