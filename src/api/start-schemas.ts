import { z } from "@hono/zod-openapi";
import { CreateWatchSchema, ErrorSchema, JobIdSchema, MAX_JSON_DEPTH, WatchSchema, jsonDepth } from "./schemas.js";

/**
 * The pieces every start-and-watch route is declared with (`POST /v1/export`, `/v1/ai/{action}`, `/v1/agent`
 * and their `/cost`): Rendley's body plus the relay's watch fields in, `{data: {job_id, watch}}` out.
 */

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
export const security = [{ bearerAuth: [] }];
export const tags = ["start"];

/** The relay's own fields of a start body; everything else is Rendley's and is passed on untouched. */
export const RELAY_FIELDS = ["callback_url", "events", "metadata", "retry_schedule", "callback_headers"] as const;

const notTooDeep = (value: Record<string, unknown>, ctx: z.core.$RefinementCtx) => {
  if (jsonDepth(value) > MAX_JSON_DEPTH) ctx.addIssue({ code: "custom", message: `nests deeper than ${MAX_JSON_DEPTH} levels` });
};

/**
 * A start body: any fields of Rendley's (passed on as sent) plus the watch fields of `CreateWatch`, which the
 * relay keeps. `job_id` comes from Rendley and `service` from the endpoint, so neither is a relay field here.
 */
const StartBodyBase = CreateWatchSchema.omit({ job_id: true, service: true }).loose().superRefine(notTooDeep);
export type StartBody = z.output<typeof StartBodyBase>;

export function startBodySchema(name: string, rendleyCall: string, example: Record<string, unknown>) {
  return StartBodyBase.openapi(name, {
    description:
      `Rendley's \`${rendleyCall}\` body (any fields, passed on as sent) plus the watch fields of \`CreateWatch\` ` +
      "(`callback_url`, `events`, `metadata`, `retry_schedule`, `callback_headers`), which the relay keeps for itself.",
    example: { ...example, callback_url: "https://app.example.com/hooks/rendley", events: ["job.completed", "job.failed"] },
  });
}

/** A cost body: Rendley's body as for the start call (the relay's fields, if present, are left out). */
export function costBodySchema(name: string, rendleyCall: string, example: Record<string, unknown>) {
  return z
    .looseObject({})
    .superRefine(notTooDeep)
    .openapi(name, {
      description: `Rendley's body, as for \`${rendleyCall}\` (the relay's watch fields, if present, are left out).`,
      example,
    });
}

export const StartedJobEnvelope = z.object({
  data: z.object({ job_id: JobIdSchema, watch: WatchSchema }).openapi("StartedJob"),
});

export const idempotencyHeader = z.object({
  "idempotency-key": z
    .string()
    .optional()
    .openapi({
      description:
        "A retry with the same key and body answers with the first request's job and watch (200) without starting another " +
        "job; a different body or endpoint → 409.",
    }),
});

export const upstreamErrors = {
  402: json(ErrorSchema, "Rendley refused: too few credits (upstream_error; any 4xx from Rendley is passed on with its message)"),
  502: json(ErrorSchema, "Rendley failed (5xx), is unreachable, or gave an unusable answer (upstream_error)"),
  504: json(ErrorSchema, "Rendley did not answer within UPSTREAM_TIMEOUT_MS (upstream_timeout)"),
};

/** The answers of a start route besides Rendley's. */
export const startResponses = {
  201: json(StartedJobEnvelope, "Started and watched; the first poll happens at once"),
  200: json(StartedJobEnvelope, "Idempotent repeat: the job and watch of the first request"),
  400: json(ErrorSchema, "Invalid request (validation_failed, invalid_json, callback_url_*), or Rendley answered 400"),
  409: json(ErrorSchema, "Idempotency-Key reused or in flight (idempotency_conflict), or no Rendley key (rendley_key_missing)"),
  415: json(ErrorSchema, "Body is not JSON (unsupported_media_type)"),
  ...upstreamErrors,
  503: json(
    ErrorSchema,
    "The job started upstream but its watch could not be stored: the message names its job_id, to register with " +
      "POST /v1/watches (service_unavailable); or the relay's database is not reachable",
  ),
};

/** The answers of a cost route besides its 200. */
export const costErrors = {
  400: json(ErrorSchema, "Invalid request (validation_failed, invalid_json), or Rendley answered 400"),
  409: json(ErrorSchema, "The tenant has no Rendley key (rendley_key_missing)"),
  415: json(ErrorSchema, "Body is not JSON (unsupported_media_type)"),
  ...upstreamErrors,
};
