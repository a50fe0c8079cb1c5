import { z } from "@hono/zod-openapi";
import { JOB_EVENTS } from "../delivery/events.js";
import { JOB_STATUSES } from "../upstream/job.js";

export const WATCH_STATUSES = ["watching", "delivering", "delivered", "failed", "canceled", "expired"] as const;
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
  .regex(/^[A-Za-z0-9_.:-]+$/, "only letters, digits and _ . : - are allowed")
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

export const CreateWatchSchema = z
  .strictObject({
    job_id: JobIdSchema,
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
  })
  .openapi("CreateWatch");

const AttemptSchema = z
  .object({
    attempt: z.number().int(),
    trigger: z.enum(["scheduled", "manual"]),
    at: z.string(),
    status_code: z.number().int().nullable(),
    duration_ms: z.number().int(),
    error: z.string().nullable(),
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
    callback_url: z.string(),
    events: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    status: z.enum(WATCH_STATUSES),
    job_status: z.enum(JOB_STATUSES).nullable().or(z.string().nullable()),
    job: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The last job object seen upstream, verbatim." }),
    last_error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    deliveries: z.array(DeliverySchema),
    upstream_cancel: z.enum(["canceled", "already_finished", "error"]).optional(),
  })
  .openapi("Watch");

export const WatchEnvelope = z.object({ data: WatchSchema });

export const WatchIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "wch_01jd3k2m9q8x7v6t5r4p3n2m1" }),
});

export const ListWatchesQuery = z.strictObject({
  status: z.enum(WATCH_STATUSES).optional(),
  job_id: JobIdSchema.optional(),
  limit: z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(1).max(200))
    .optional()
    .openapi({ type: "integer", description: "1–200, default 50" }),
  cursor: z.string().max(512).optional().openapi({ description: "`next_cursor` of the previous page" }),
});
