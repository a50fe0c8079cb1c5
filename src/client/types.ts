/**
 * The relay API's objects, written by hand to match the routes (src/api/routes/*): the client needs none
 * of the server's dependencies, only the relay's vocabulary (src/domain, which imports nothing). Field names
 * are the API's own (snake_case).
 */
import type { AttemptError } from "../domain/attempt.js";
import type { EventType, JobEvent } from "../domain/events.js";
import type { WatchStatus } from "../domain/watch.js";

export type { EventType, JobEvent, WatchStatus };
export type AttemptErrorCode = AttemptError;

/** Rendley's job object, verbatim as last seen upstream (`input_data`/`result_data` stay JSON strings). */
export interface RendleyJob {
  id: string;
  status: "queued" | "processing" | "completed" | "failed" | "canceled";
  result_data?: string | null;
  error?: string | null;
  [field: string]: unknown;
}

/** One callback request. */
export interface Attempt {
  attempt: number;
  trigger: "scheduled" | "manual";
  at: string;
  status_code: number | null;
  duration_ms: number;
  error: AttemptErrorCode | (string & {}) | null;
  /** The first 1 KiB of the response body. */
  response_excerpt: string | null;
  /** Where a 3xx answer pointed (redirects are never followed). */
  location: string | null;
}

/** One event message; `id` is its `webhook-id`, stable across attempts and redeliveries. */
export interface Delivery {
  id: string;
  event: EventType | (string & {});
  status: "pending" | "delivered" | "failed";
  attempts: Attempt[];
  next_attempt_at: string | null;
  delivered_at: string | null;
  last_error: string | null;
}

export interface Watch {
  id: string;
  job_id: string;
  callback_url: string;
  events: string[];
  metadata: Record<string, unknown> | null;
  /** The watch's own schedule (`"10s,1m"`), or null for the relay's. */
  retry_schedule: string | null;
  /** Header names only: values are write-only. */
  callback_headers: Record<string, "[redacted]"> | null;
  status: WatchStatus;
  job_status: string | null;
  job: RendleyJob | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  deliveries: Delivery[];
  /** Only on `DELETE /v1/watches/{id}?cancel_job=true`: what Rendley answered. */
  upstream_cancel?: "canceled" | "already_finished" | "error";
}

/** `POST /v1/watches` body. */
export interface CreateWatchInput {
  job_id: string;
  callback_url: string;
  events?: JobEvent[];
  metadata?: Record<string, unknown> | null;
  /** Delays between attempts after the first (`"10s,1m,10m"`; `none`). */
  retry_schedule?: string;
  /** Up to 5 extra static headers sent with every callback. */
  callback_headers?: Record<string, string>;
}

/**
 * A `POST /v1/export` body: Rendley's own export fields (passed on as sent) plus the watch fields, which the
 * relay keeps for itself.
 */
export type StartExportInput = Omit<CreateWatchInput, "job_id"> & Record<string, unknown>;

/** The export Rendley started and the watch on its job. */
export interface StartedExport {
  job_id: string;
  watch: Watch;
}

export interface WatchPage {
  data: Watch[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface SigningSecret {
  /** `whsec_…`: the current secret. */
  secret: string;
  /** When the last previous secret stops signing; null when none still signs. */
  previous_expires_at: string | null;
}

export interface Origin {
  origin: string;
  state: "closed" | "open" | "half_open";
  consecutive_failures: number;
  opened_at: string | null;
  open_until: string | null;
  last_success_at: string | null;
  last_failure_at: string | null;
  updated_at: string;
}

export interface Health {
  status: "ok";
}

export interface Readiness {
  status: "ready" | "not_ready";
  checks: { database: "ok" | "unreachable"; upstream_key: "accepted" | "rejected" | "unknown" };
}

export interface Tenant {
  id: string;
  name: string;
  status: "active" | "disabled";
  /** Whether a Rendley key is stored (it is never returned). */
  rendley_key_set: boolean;
  rendley_key_updated_at: string | null;
  created_at: string;
  updated_at: string;
  disabled_at: string | null;
}

export interface ApiKey {
  id: string;
  /** The key's first characters (`rrk_AbCd…`). */
  prefix: string | null;
  label: string | null;
  /** `env`, `generated` (first start) or `admin`. */
  source: string;
  created_at: string;
  revoked_at: string | null;
}

/** A key just created: the only time `key` itself is returned. */
export interface NewApiKey extends ApiKey {
  key: string;
}

/** `POST /v1/admin/tenants` answer: the tenant and its first API key (shown once). */
export interface CreatedTenant {
  tenant: Tenant;
  api_key: NewApiKey;
}
