import type { OperationExamples } from "./openapi-examples.js";

const AT = "2026-11-27T05:07:04.577Z";
const LATER = "2026-11-27T05:09:31.204Z";

const SUBSCRIPTION = {
  id: "sub_01jd3k2m9q8x7v6t5r4p3n2m1",
  status: "active",
  filter: { source_type: "studio", project_id: "prj_123" },
  callback_url: "https://app.example.com/hooks/rendley",
  events: ["job.completed", "job.failed", "job.canceled"],
  metadata: { team: "video" },
  retry_schedule: null,
  callback_headers: null,
  include_existing: false,
  baseline_at: AT,
  last_listed_at: LATER,
  last_job_count: 12,
  last_error: null,
  discovered_count: 3,
  created_at: AT,
  updated_at: LATER,
  deleted_at: null,
};

/** Examples of the subscriptions resource (merged into ROUTE_EXAMPLES). */
export const SUBSCRIPTION_EXAMPLES: Record<string, OperationExamples> = {
  "POST /v1/subscriptions": {
    request: {
      callback_url: "https://app.example.com/hooks/rendley",
      filter: { source_type: "studio", project_id: "prj_123" },
      metadata: { team: "video" },
    },
    201: { data: { ...SUBSCRIPTION, baseline_at: null, last_listed_at: null, last_job_count: null, discovered_count: 0 } },
  },
  "GET /v1/subscriptions": { 200: { data: [SUBSCRIPTION], next_cursor: null } },
  "GET /v1/subscriptions/{id}": {
    200: { data: { ...SUBSCRIPTION, last_error: "list_too_large: over 16777216 bytes" } },
    404: { error: { code: "not_found", message: "subscription not found" } },
  },
  "DELETE /v1/subscriptions/{id}": {
    200: { data: { ...SUBSCRIPTION, status: "deleted", deleted_at: LATER }, canceled_watches: 0 },
  },
};
