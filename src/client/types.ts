/**
 * The relay API's objects, written by hand to match the routes (src/api/routes/*): the client needs none
 * of the server's dependencies, only the relay's vocabulary (src/domain, which imports nothing). Field names
 * are the API's own (snake_case).
 */
import type { AttemptError } from "../domain/attempt.js";
import type { EventType, JobEvent } from "../domain/events.js";
import type { JobService } from "../domain/job.js";
import type { SourceType, SubscriptionFilter, SubscriptionStatus } from "../domain/subscription.js";
import type { WatchStatus } from "../domain/watch.js";

export type { EventType, JobEvent, JobService, SourceType, SubscriptionFilter, SubscriptionStatus, WatchStatus };
export type AttemptErrorCode = AttemptError;

/**
 * Rendley's job object, verbatim as last seen upstream (`input_data`/`result_data` stay JSON strings). `status`
 * is as the service spelt it (agent jobs: `pending`, `running`, `cancelled`…); the watch's `job_status` too.
 */
export interface RendleyJob {
  id: string;
  status: "queued" | "processing" | "completed" | "failed" | "canceled" | (string & {});
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
  /** The Rendley service that owns the job: `api` (exports, AI tools) or `agent` (polled at RENDLEY_AGENT_URL). */
  service: JobService;
  /** The subscription that discovered the job, or null for a watch an app registered. */
  subscription_id: string | null;
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
  /**
   * Only on `DELETE /v1/watches/{id}?cancel_job=true`: what Rendley answered; `unsupported` when the service has
   * no cancel the relay knows (agent jobs without RENDLEY_AGENT_CANCEL_URL).
   */
  upstream_cancel?: "canceled" | "already_finished" | "unsupported" | "error";
}

/** `POST /v1/watches` body. */
export interface CreateWatchInput {
  job_id: string;
  /** The service that owns the job (default `api`); `agent` for a job of `POST /v1/agent` (a UUID). */
  service?: JobService;
  callback_url: string;
  events?: JobEvent[];
  metadata?: Record<string, unknown> | null;
  /** Delays between attempts after the first (`"10s,1m,10m"`; `none`). */
  retry_schedule?: string;
  /** Up to 5 extra static headers sent with every callback. */
  callback_headers?: Record<string, string>;
}

/**
 * A start body (`POST /v1/export`, `/v1/ai/{action}`, `/v1/agent`): Rendley's own fields (passed on as sent) plus
 * the watch fields, which the relay keeps for itself. The endpoint decides the service.
 */
export type StartJobInput = Omit<CreateWatchInput, "job_id" | "service"> & Record<string, unknown>;
/** A `POST /v1/export` body. */
export type StartExportInput = StartJobInput;

/** The job Rendley started and the watch on it. */
export interface StartedJob {
  job_id: string;
  watch: Watch;
}
/** The export Rendley started and the watch on its job. */
export type StartedExport = StartedJob;

/** Rendley's price answer as it sent it: a bare number, `{credits}` or `{data: {credits}}`. */
export type CostAnswer = number | Record<string, unknown>;

export interface WatchPage {
  data: Watch[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * Push for jobs nobody registered: every new job in Rendley's job list under `filter` becomes a watch of the
 * subscription (its `subscription_id`).
 */
export interface Subscription {
  /** `sub_…` */
  id: string;
  /** `deleted`: discovery stopped; its watches finish unless they were canceled with it. */
  status: SubscriptionStatus;
  filter: SubscriptionFilter;
  callback_url: string;
  events: string[];
  metadata: Record<string, unknown> | null;
  /** The schedule of its watches (`"10s,1m"`), or null for the relay's. */
  retry_schedule: string | null;
  /** Header names only: values are write-only. */
  callback_headers: Record<string, "[redacted]"> | null;
  include_existing: boolean;
  /** When the first listing (the baseline) was taken; null until then. */
  baseline_at: string | null;
  /** When its filter's job list was last read whole. */
  last_listed_at: string | null;
  last_job_count: number | null;
  /** Why the last listing failed (`list_too_large: …`, `upstream_status_500`, …); null when it worked. */
  last_error: string | null;
  /** Watches made from discovered jobs. */
  discovered_count: number;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

/** `POST /v1/subscriptions` body. */
export interface CreateSubscriptionInput {
  callback_url: string;
  /** `source_type` is required (`studio`: the Rendley editor; `api`); the other fields narrow the list. */
  filter: SubscriptionFilter;
  /** Events of each discovered job (default: the three terminal events). */
  events?: JobEvent[];
  metadata?: Record<string, unknown> | null;
  /** Delays between attempts after the first (`"10s,1m,10m"`; `none`). */
  retry_schedule?: string;
  /** Up to 5 extra static headers sent with every callback. */
  callback_headers?: Record<string, string>;
  /** Also announce jobs already finished at the first listing (default false: that listing is a baseline). */
  include_existing?: boolean;
}

export interface SubscriptionPage {
  data: Subscription[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** `DELETE /v1/subscriptions/{id}` answer. */
export interface DeletedSubscription {
  subscription: Subscription;
  /** How many of its still-running watches were canceled with it (0 without `cancelWatches`). */
  canceledWatches: number;
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
