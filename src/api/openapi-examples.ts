/**
 * Examples of whole request and response bodies, keyed by `METHOD /path` then `request` or a status, placed
 * on the operations' media types of the OpenAPI document. They are plain data: a test runs every one
 * through the zod schema of its route, so an example that drifts from the API fails the build.
 */
import { SUBSCRIPTION_EXAMPLES } from "./openapi-subscription-examples.js";

const AT = "2026-11-27T05:07:04.577Z";
const LATER = "2026-11-27T05:07:09.912Z";
const WATCH_ID = "wch_01m8dpcqe94bq4cd4fjdc6t9x2";
const JOB_ID = "job_8f2c41d0";
const MESSAGE_ID = "msg_01m8dpf3k2q7w9e4r5t6y7u8i9";

const JOB = {
  id: JOB_ID,
  type: "export_video",
  status: "completed",
  input_data: '{"project_id":"prj_123"}',
  result_data: '{"storage_url":"https://storage.rendley.com/exports/prj_123.mp4","media_id":"med_9"}',
  error: null,
  acknowledged: false,
  source_type: "api",
  source_id: "prj_123",
};

const WATCHING = {
  id: WATCH_ID,
  job_id: JOB_ID,
  service: "api",
  subscription_id: null,
  callback_url: "https://app.example.com/hooks/rendley",
  events: ["job.completed", "job.failed"],
  metadata: { order_id: "ord_42" },
  retry_schedule: null,
  callback_headers: null,
  status: "watching",
  job_status: null,
  job: null,
  last_error: null,
  created_at: AT,
  updated_at: AT,
  deliveries: [],
};

const AGENT_JOB_ID = "0b6f3c1e-7d2a-4c5b-9e8f-1a2b3c4d5e6f";
const AGENT_WATCHING = { ...WATCHING, job_id: AGENT_JOB_ID, service: "agent" };
const TRANSCRIBE_WATCHING = { ...WATCHING, job_id: "job_5e1a77c2" };

const DELIVERED = {
  ...WATCHING,
  status: "delivered",
  job_status: "completed",
  job: JOB,
  updated_at: LATER,
  deliveries: [
    {
      id: MESSAGE_ID,
      event: "job.completed",
      status: "delivered",
      attempts: [
        {
          attempt: 1,
          trigger: "scheduled",
          at: LATER,
          status_code: 204,
          duration_ms: 83,
          error: null,
          response_excerpt: null,
          location: null,
        },
      ],
      next_attempt_at: null,
      delivered_at: LATER,
      last_error: null,
    },
  ],
};

const REDELIVERING = {
  ...DELIVERED,
  status: "delivering",
  deliveries: [{ ...DELIVERED.deliveries[0], status: "pending", next_attempt_at: LATER, delivered_at: null }],
};

const TENANT = {
  id: "ten_01m8dpcqe94bq4cd4fjdc6t9x2",
  name: "acme-video",
  status: "active",
  rendley_key_set: true,
  rendley_key_updated_at: AT,
  created_at: AT,
  updated_at: AT,
  disabled_at: null,
};

const API_KEY = {
  id: "key_01m8dpcqe94bq4cd4fjdc6t9x2",
  prefix: "rrk_AbCd",
  label: "production",
  source: "admin",
  created_at: AT,
  revoked_at: null,
};

const NEW_API_KEY = { ...API_KEY, key: "rrk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789" };
/** Also the secret the callback example below is signed with. */
export const EXAMPLE_SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwYhXmEKjxbTg=";
const SIGNING_SECRET = { secret: EXAMPLE_SIGNING_SECRET, previous_expires_at: null };

export type OperationExamples = { request?: unknown } & { [status: string]: unknown };

export const ROUTE_EXAMPLES: Record<string, OperationExamples> = {
  "GET /healthz": { 200: { data: { status: "ok" } } },
  "GET /readyz": {
    200: { data: { status: "ready", checks: { database: "ok", upstream_key: "accepted" } } },
    503: { data: { status: "not_ready", checks: { database: "ok", upstream_key: "rejected" } } },
  },
  "POST /v1/watches": {
    request: {
      job_id: JOB_ID,
      callback_url: "https://app.example.com/hooks/rendley",
      events: ["job.completed", "job.failed"],
      metadata: { order_id: "ord_42" },
    },
    201: { data: WATCHING },
    200: { data: WATCHING },
    409: { error: { code: "idempotency_conflict", message: "Idempotency-Key was used with a different body" } },
  },
  "GET /v1/watches": { 200: { data: [DELIVERED], next_cursor: "eyJjIjoiMjAyNi0xMS0yN1QwNTowNzowNC41NzdaIn0" } },
  "GET /v1/watches/{id}": {
    200: { data: DELIVERED },
    404: { error: { code: "not_found", message: "watch not found" } },
  },
  "DELETE /v1/watches/{id}": {
    200: { data: { ...WATCHING, status: "canceled", updated_at: LATER, upstream_cancel: "canceled" } },
    409: { error: { code: "watch_finished", message: "the watch already finished (delivered)" } },
  },
  "POST /v1/watches/{id}/redeliver": {
    202: { data: REDELIVERING },
    409: { error: { code: "watch_active", message: "the watch is still watching: nothing final to redeliver yet" } },
  },
  "POST /v1/export": { 201: { data: { job_id: JOB_ID, watch: WATCHING } }, 200: { data: { job_id: JOB_ID, watch: WATCHING } } },
  "POST /v1/export/cost": { 200: { data: { credits: 10 } } },
  "POST /v1/ai/{action}": {
    201: { data: { job_id: TRANSCRIBE_WATCHING.job_id, watch: TRANSCRIBE_WATCHING } },
    200: { data: { job_id: TRANSCRIBE_WATCHING.job_id, watch: TRANSCRIBE_WATCHING } },
    404: {
      error: { code: "unknown_action", message: 'no AI action "transcode": the relay accepts transcribe, text-to-speech, …' },
    },
  },
  "POST /v1/ai/{action}/cost": { 200: 12 },
  "POST /v1/agent": {
    201: { data: { job_id: AGENT_JOB_ID, watch: AGENT_WATCHING } },
    200: { data: { job_id: AGENT_JOB_ID, watch: AGENT_WATCHING } },
    429: {
      error: { code: "upstream_error", message: "Rendley refused the request (429): The agent queue is full; retry later." },
    },
  },
  "GET /v1/signing-secret": { 200: { data: SIGNING_SECRET } },
  "POST /v1/signing-secret/rotate": {
    request: { grace_period_s: 86400 },
    201: {
      data: { secret: "whsec_3q2+7wZ0n1m8Yx5u4LkJ9hG6fD3sA1pO0iU7yT4rE2w=", previous_expires_at: "2026-11-28T05:07:04.577Z" },
    },
  },
  "GET /v1/origins": {
    200: {
      data: [
        {
          origin: "https://app.example.com",
          state: "open",
          consecutive_failures: 10,
          opened_at: AT,
          open_until: "2026-11-27T05:07:34.577Z",
          last_success_at: "2026-11-27T04:58:00.000Z",
          last_failure_at: AT,
          updated_at: AT,
        },
      ],
    },
  },
  "POST /v1/deliveries/recover": {
    request: { since: "2026-11-27T00:00:00Z", until: "2026-11-27T06:00:00Z" },
    202: { data: { queued: 42 } },
  },
  "POST /v1/admin/tenants": {
    request: { name: "acme-video", rendley_api_key: "rk_live_0123456789abcdef" },
    201: { data: { tenant: TENANT, api_key: NEW_API_KEY } },
  },
  "GET /v1/admin/tenants": { 200: { data: [TENANT] } },
  "GET /v1/admin/tenants/{id}": { 200: { data: TENANT } },
  "POST /v1/admin/tenants/{id}/disable": {
    200: { data: { ...TENANT, status: "disabled", updated_at: LATER, disabled_at: LATER } },
  },
  "POST /v1/admin/tenants/{id}/enable": { 200: { data: { ...TENANT, updated_at: LATER } } },
  "PUT /v1/admin/tenants/{id}/rendley-key": {
    request: { rendley_api_key: "rk_live_fedcba9876543210" },
    200: { data: { ...TENANT, rendley_key_updated_at: LATER, updated_at: LATER } },
  },
  "POST /v1/admin/tenants/{id}/api-keys": { request: { label: "production" }, 201: { data: NEW_API_KEY } },
  "GET /v1/admin/tenants/{id}/api-keys": { 200: { data: [API_KEY] } },
  "DELETE /v1/admin/tenants/{id}/api-keys/{key_id}": { 200: { data: { ...API_KEY, revoked_at: LATER } } },
  ...SUBSCRIPTION_EXAMPLES,
};

/** The body of a callback: the example of the `webhooks` entry. */
export const EVENT_EXAMPLE = {
  type: "job.completed",
  timestamp: AT,
  data: {
    watch_id: WATCH_ID,
    job_id: JOB_ID,
    service: "api",
    status: "completed",
    job: JOB,
    result: { storage_url: "https://storage.rendley.com/exports/prj_123.mp4", media_id: "med_9" },
    error: null,
    metadata: { order_id: "ord_42" },
  },
};

/** The Standard Webhooks headers of that callback, its body sent as `JSON.stringify(EVENT_EXAMPLE)` and signed with EXAMPLE_SIGNING_SECRET. */
export const EVENT_HEADERS_EXAMPLE = {
  "webhook-id": MESSAGE_ID,
  "webhook-timestamp": "1795756029",
  "webhook-signature": "v1,/0G0/2lnLs2ynM8EEgBWIpFB6zf15KN5Q5Xzb5Ae3Kg=",
};
