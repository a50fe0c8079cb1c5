import { z } from "@hono/zod-openapi";
import { JOB_EVENTS } from "../domain/events.js";
import { SOURCE_TYPES, SUBSCRIPTION_STATUSES } from "../domain/subscription.js";
import { CallbackHeadersSchema, MetadataSchema, PAGE_QUERY, RetryScheduleSchema } from "./schemas.js";

const filterValue = (description: string, example: string) =>
  z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces")
    .optional()
    .openapi({ description, example });

export const SubscriptionFilterSchema = z
  .strictObject({
    source_type: z.enum(SOURCE_TYPES).openapi({
      description: "Required: `studio` (jobs made in the Rendley editor; Rendley's own default) or `api`.",
      example: "studio",
    }),
    project_id: filterValue("Only this project's jobs.", "prj_123"),
    job_type: filterValue("Only jobs of this type (e.g. `export_video`, `text_to_speech`).", "export_video"),
    source_id: filterValue("Only jobs with this source id.", "src_9"),
  })
  .openapi("SubscriptionFilter", { description: "The query of Rendley's job list (`GET /v1/jobs?…`)." });

export const CreateSubscriptionSchema = z
  .strictObject({
    callback_url: z.string().min(1).max(2048).openapi({
      description: "Absolute http(s) URL, ≤ 2048 chars, no credentials, not a private address (as for watches).",
      example: "https://app.example.com/hooks/rendley",
    }),
    filter: SubscriptionFilterSchema,
    events: z
      .array(z.enum(JOB_EVENTS))
      .min(1)
      .max(JOB_EVENTS.length)
      .optional()
      .openapi({ description: "Events of each discovered job. Default: the three terminal events." }),
    metadata: MetadataSchema.nullable().optional(),
    retry_schedule: RetryScheduleSchema.optional(),
    callback_headers: CallbackHeadersSchema.optional(),
    include_existing: z.boolean().optional().openapi({
      description: "Also announce jobs already finished at the first listing (default false: the first listing is a baseline).",
    }),
  })
  .openapi("CreateSubscription");

export const SubscriptionSchema = z
  .object({
    id: z.string().openapi({ example: "sub_01jd3k2m9q8x7v6t5r4p3n2m1" }),
    status: z.enum(SUBSCRIPTION_STATUSES),
    filter: SubscriptionFilterSchema,
    callback_url: z.string(),
    events: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    retry_schedule: z.string().nullable(),
    callback_headers: z.record(z.string(), z.literal("[redacted]")).nullable(),
    include_existing: z.boolean(),
    baseline_at: z.string().nullable().openapi({ description: "When the first listing (the baseline) was taken." }),
    last_listed_at: z.string().nullable().openapi({ description: "When its filter's job list was last read whole." }),
    last_job_count: z.number().int().nullable().openapi({ description: "Jobs in that list." }),
    last_error: z.string().nullable().openapi({
      description:
        "Why the last listing failed (`list_too_large: …`, `upstream_bad_response`, `upstream_status_500`, …); null when it worked.",
    }),
    discovered_count: z.number().int().openapi({ description: "Watches made from discovered jobs." }),
    created_at: z.string(),
    updated_at: z.string(),
    deleted_at: z.string().nullable(),
  })
  .openapi("Subscription");

export const SubscriptionEnvelope = z.object({ data: SubscriptionSchema });

export const SubscriptionIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "sub_01jd3k2m9q8x7v6t5r4p3n2m1" }),
});

export const ListSubscriptionsQuery = z.strictObject({
  status: z.enum(SUBSCRIPTION_STATUSES).optional(),
  ...PAGE_QUERY,
});
