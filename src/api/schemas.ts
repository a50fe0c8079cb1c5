import { z } from "@hono/zod-openapi";
import { JOB_EVENTS } from "../domain/events.js";
import { ATTEMPT_ERRORS } from "../domain/attempt.js";
import { parseScheduleMs } from "../lib/duration.js";
import { JOB_ID_PATTERN, JOB_SERVICES, JOB_STATUSES } from "../domain/job.js";
import { WATCH_STATUSES } from "../domain/watch.js";

export const MAX_METADATA_BYTES = 4 * 1024;
export const MAX_JSON_DEPTH = 32;

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "validation_failed" }),
      message: z.string().openapi({ example: "callback_url: must be an absolute http(s) URL" }),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi("Error");

/** Depth of a JSON value, counted without recursion (hostile input can nest thousands deep). Stops counting past `limit`. */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    max = Math.max(max, depth);
    if (max > limit) return max;
    for (const child of Object.values(v as object)) stack.push([child, depth + 1]);
  }
  return max;
}

export const JobIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(JOB_ID_PATTERN, "only letters, digits and _ . : - are allowed")
  .openapi({ example: "job_8f2c41d0" });

export const MetadataSchema = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    if (jsonDepth(value) > MAX_JSON_DEPTH) {
      ctx.addIssue({ code: "custom", message: `nests deeper than ${MAX_JSON_DEPTH} levels` });
      return;
    }
    if (Buffer.byteLength(JSON.stringify(value)) > MAX_METADATA_BYTES) {
      ctx.addIssue({ code: "custom", message: `is larger than ${MAX_METADATA_BYTES} bytes as JSON` });
    }
  })
  .openapi({ description: "Any JSON object up to 4 KiB, echoed in every callback.", example: { order_id: "ord_42" } });

export const MAX_SCHEDULE_ENTRIES = 20;
export const MAX_SCHEDULE_TOTAL_MS = 7 * 86_400_000;

/** A watch's own retry delays, same syntax as DELIVERY_RETRY_SCHEDULE; parsed to milliseconds. */
export const RetryScheduleSchema = z
  .string()
  .max(400)
  .transform((raw, ctx) => {
    let delays: number[];
    try {
      delays = parseScheduleMs(raw);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
    if (delays.length > MAX_SCHEDULE_ENTRIES) ctx.addIssue({ code: "custom", message: `at most ${MAX_SCHEDULE_ENTRIES} delays` });
    if (delays.reduce((a, b) => a + b, 0) > MAX_SCHEDULE_TOTAL_MS)
      ctx.addIssue({ code: "custom", message: "at most 7 days in total" });
    return delays;
  })
  .openapi({
    type: "string",
    description:
      "Delays between attempts after the first, immediate one (`ms`, `s`, `m`, `h`, `d`; `none`): at most 20, at most 7 days in total.",
    example: "10s,1m,10m,1h",
  });

export const MAX_CALLBACK_HEADERS = 5;
/** Headers the relay sets itself, or that belong to the connection: a watch may not set them. */
const RESERVED_HEADER =
  /^(content-type|content-length|user-agent|host|connection|keep-alive|transfer-encoding|te|trailer|upgrade|expect|proxy-.*|webhook-.*)$/i;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const HEADER_VALUE = /^[\t\x20-\x7e]{0,1024}$/;

/** Extra static headers for receivers that authenticate with a header instead of verifying signatures. */
export const CallbackHeadersSchema = z
  .record(z.string(), z.string())
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > MAX_CALLBACK_HEADERS) ctx.addIssue({ code: "custom", message: `at most ${MAX_CALLBACK_HEADERS} headers` });
    const seen = new Set<string>();
    for (const name of names) {
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: "custom", path: [name], message: "not a valid header name" });
      else if (RESERVED_HEADER.test(name))
        ctx.addIssue({ code: "custom", path: [name], message: "set by the relay; cannot be overridden" });
      else if (seen.has(name.toLowerCase()))
        ctx.addIssue({ code: "custom", path: [name], message: "repeated (names are case-insensitive)" });
      seen.add(name.toLowerCase());
      if (!HEADER_VALUE.test(headers[name] ?? "")) {
        ctx.addIssue({ code: "custom", path: [name], message: "values are up to 1024 printable ASCII characters" });
      }
    }
  })
  .openapi({
    description:
      "Up to 5 extra headers sent with every callback; values are stored, never returned (shown as `[redacted]`) nor logged.",
    example: { "X-Hook-Token": "s3cr3t" },
  });

export const JobServiceSchema = z.enum(JOB_SERVICES).openapi({
  description:
    "The Rendley service that owns the job: `api` (api.rendley.com: exports, AI tools) or `agent` (the AI agent at `RENDLEY_AGENT_URL`).",
  example: "api",
});

export const CreateWatchSchema = z
  .strictObject({
    job_id: JobIdSchema,
    service: JobServiceSchema.optional().openapi({ description: "Default `api`." }),
    callback_url: z.string().min(1).max(2048).openapi({
      description: "Absolute http(s) URL, ≤ 2048 chars, no credentials, not a private address.",
      example: "https://app.example.com/hooks/rendley",
    }),
    events: z
      .array(z.enum(JOB_EVENTS))
      .min(1)
      .max(JOB_EVENTS.length)
      .optional()
      .openapi({ description: "Default: the three terminal events.", example: ["job.completed", "job.failed"] }),
    metadata: MetadataSchema.nullable().optional(),
    retry_schedule: RetryScheduleSchema.optional(),
    callback_headers: CallbackHeadersSchema.optional(),
  })
  .openapi("CreateWatch");

const AttemptSchema = z
  .object({
    attempt: z.number().int(),
    trigger: z.enum(["scheduled", "manual"]),
    at: z.string(),
    status_code: z.number().int().nullable(),
    duration_ms: z.number().int(),
    error: z.enum(ATTEMPT_ERRORS).nullable().or(z.string().nullable()),
    response_excerpt: z.string().nullable().openapi({ description: "The first 1 KiB of the response body." }),
    location: z.string().nullable().openapi({ description: "Where a 3xx answer pointed (redirects are never followed)." }),
  })
  .openapi("Attempt");

const DeliverySchema = z
  .object({
    id: z.string().openapi({ description: "The `webhook-id` of this event: stable across attempts and redeliveries." }),
    event: z.string().openapi({ example: "job.completed" }),
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: z.array(AttemptSchema),
    next_attempt_at: z.string().nullable(),
    delivered_at: z.string().nullable(),
    last_error: z.string().nullable(),
  })
  .openapi("Delivery");

export const WatchSchema = z
  .object({
    id: z.string().openapi({ example: "wch_01jd3k2m9q8x7v6t5r4p3n2m1" }),
    job_id: z.string(),
    service: JobServiceSchema,
    subscription_id: z.string().nullable().openapi({
      description: "The subscription that discovered the job (its callbacks carry `data.subscription_id`), or null.",
    }),
    callback_url: z.string(),
    events: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    retry_schedule: z.string().nullable().openapi({ description: "The watch's own schedule, or null for the relay's." }),
    callback_headers: z.record(z.string(), z.literal("[redacted]")).nullable(),
    status: z.enum(WATCH_STATUSES),
    job_status: z.enum(JOB_STATUSES).nullable().or(z.string().nullable()),
    job: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The last job object seen upstream, verbatim." }),
    last_error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    deliveries: z.array(DeliverySchema),
    upstream_cancel: z
      .enum(["canceled", "already_finished", "unsupported", "error"])
      .optional()
      .openapi({ description: "With `cancel_job`: `unsupported` for agent jobs unless `RENDLEY_AGENT_CANCEL_URL` is set." }),
  })
  .openapi("Watch");

export const WatchEnvelope = z.object({ data: WatchSchema });

export const WatchIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "wch_01jd3k2m9q8x7v6t5r4p3n2m1" }),
});

/** The paging fields of a list's query: `limit` 1–200 (default 50) and the previous page's `next_cursor`. */
export const PAGE_QUERY = {
  limit: z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(1).max(200))
    .optional()
    .openapi({ type: "integer", description: "1–200, default 50" }),
  cursor: z.string().max(512).optional().openapi({ description: "`next_cursor` of the previous page" }),
};

export const ListWatchesQuery = z.strictObject({
  status: z.enum(WATCH_STATUSES).optional(),
  job_id: JobIdSchema.optional(),
  subscription_id: z.string().max(64).optional().openapi({ description: "Only the watches this subscription discovered" }),
  ...PAGE_QUERY,
});
