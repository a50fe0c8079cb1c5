import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { JOB_EVENTS } from "../domain/events.js";
import { JOB_SERVICES, JOB_STATUSES } from "../domain/job.js";
import { EVENT_EXAMPLE, EVENT_HEADERS_EXAMPLE } from "./openapi-examples.js";

/** Rendley's job object as the relay hands it on: verbatim, so only the fields the relay relies on are described. */
export const RendleyJobSchema = z
  .looseObject({
    id: z.string(),
    status: z.enum(JOB_STATUSES),
    type: z.string().optional().openapi({ example: "export_video" }),
    input_data: z.string().nullable().optional().openapi({ description: "JSON text, as Rendley stores it." }),
    result_data: z.string().nullable().optional().openapi({ description: "JSON text; `data.result` is it parsed." }),
    error: z.string().nullable().optional(),
  })
  .openapi("RendleyJob", { description: "Rendley's job object, verbatim as last fetched (more fields may appear)." });

/** The callback body (src/domain/events.ts `EventBody`); receivers get it typed as `RelayEvent` from rendley-relay/receiver. */
export const RelayEventSchema = z
  .object({
    type: z.enum([...JOB_EVENTS, "watch.expired"]),
    timestamp: z.iso.datetime().openapi({ description: "When the relay observed the change; the same on every attempt." }),
    data: z.object({
      watch_id: z.string(),
      job_id: z.string(),
      service: z.enum(JOB_SERVICES).openapi({ description: "The Rendley service that owns the job (`api` or `agent`)." }),
      subscription_id: z
        .string()
        .optional()
        .openapi({ description: "The subscription that discovered the job; absent for watches an app registered." }),
      status: z.enum(JOB_STATUSES).nullable().openapi({ description: "null on `watch.expired`." }),
      job: RendleyJobSchema.nullable(),
      result: z.unknown().openapi({ description: "`job.result_data` parsed, or null." }),
      error: z.string().nullable(),
      metadata: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The watch's metadata, echoed." }),
      reason: z.string().optional().openapi({ description: "`job_not_found` on `watch.expired`." }),
      truncated: z
        .literal(true)
        .optional()
        .openapi({ description: "`job.input_data` was dropped (set to null) to keep the body under 256 KiB." }),
    }),
  })
  .openapi("RelayEvent", { example: EVENT_EXAMPLE });

export const CallbackHeadersSchema = z.object({
  "webhook-id": z.string().openapi({
    description: "The event message id: the same on every attempt and redelivery of one event. Deduplicate on it.",
    example: EVENT_HEADERS_EXAMPLE["webhook-id"],
  }),
  "webhook-timestamp": z.string().regex(/^\d+$/).openapi({
    description: "Unix seconds of this attempt; refuse callbacks more than 5 minutes off.",
    example: EVENT_HEADERS_EXAMPLE["webhook-timestamp"],
  }),
  "webhook-signature": z.string().openapi({
    description:
      'Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">`, one per valid secret ' +
      "(keyed with the base64 part after `whsec_`). Two during a rotation's grace period, newest first.",
    example: EVENT_HEADERS_EXAMPLE["webhook-signature"],
  }),
});

/** Adds the callback request under the document's `webhooks` (OpenAPI 3.1). */
export function registerCallbackWebhook(app: Pick<OpenAPIHono, "openAPIRegistry">): void {
  app.openAPIRegistry.registerWebhook({
    method: "post",
    path: "jobEvent",
    tags: ["callbacks"],
    summary: "The callback the relay POSTs to a watch's callback_url",
    description:
      "Standard Webhooks: verify the signature over the raw body before parsing it (`verifyCallback` from " +
      "`rendley-relay/receiver`, or any Standard Webhooks library). Delivered at least once: deduplicate on `webhook-id`. " +
      "Sent with `content-type: application/json` and `user-agent: rendley-relay/<version>`, plus the watch's `callback_headers`.",
    request: {
      headers: CallbackHeadersSchema,
      body: { required: true, content: { "application/json": { schema: RelayEventSchema, example: EVENT_EXAMPLE } } },
    },
    responses: {
      "2XX": { description: "Acknowledged: the delivery is done. Answer quickly; do slow work afterwards." },
      "410": {
        description: "Gone: the delivery stops at once and is marked failed (also: header `webhook-delivery: abort-message`).",
      },
      "429": {
        description: "Slow down: the next attempt honours Retry-After, clamped between the scheduled delay and twice it.",
      },
      default: { description: "Anything else, a redirect, or no answer within DELIVERY_TIMEOUT_MS: retried on the schedule." },
    },
  });
}
