import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { createRouter } from "../router.js";
import type { ApiEnv } from "../auth.js";
import { acquireLease, releaseLease } from "../../db/queries/acquire-lease.js";
import { createWatch, type CreateWatchResult } from "../../db/queries/create-watch.js";
import { findWatchByIdempotencyKey } from "../../db/queries/find-watch-by-idempotency-key.js";
import { DEFAULT_EVENTS } from "../../domain/events.js";
import type { Deps } from "../../deps.js";
import { AppError, ConflictError, NotFoundError } from "../../errors.js";
import { errorForLog } from "../../lib/error-for-log.js";
import { sha256Hex, stableStringify } from "../../lib/hash.js";
import { assertIdempotencyKey, checkedCallbackUrl, idempotencyConflict } from "../watch-request.js";
import { loadWatchViews } from "../watch-view.js";
import { exportCost, startExport, type UpstreamFailure } from "../../upstream/export.js";
import { CreateWatchSchema, ErrorSchema, JobIdSchema, MAX_JSON_DEPTH, WatchSchema, jsonDepth } from "../schemas.js";

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
const security = [{ bearerAuth: [] }];
/** An export's idempotency lease outlives Rendley's answer by this much (a crashed holder's key frees up after it). */
const EXPORT_LEASE_MARGIN_MS = 30_000;
const tags = ["export"];

/** The relay's own fields of a POST /v1/export body; everything else is Rendley's and is passed on untouched. */
const RELAY_FIELDS = ["callback_url", "events", "metadata", "retry_schedule", "callback_headers"] as const;

const notTooDeep = (value: Record<string, unknown>, ctx: z.core.$RefinementCtx) => {
  if (jsonDepth(value) > MAX_JSON_DEPTH) ctx.addIssue({ code: "custom", message: `nests deeper than ${MAX_JSON_DEPTH} levels` });
};

export const StartExportSchema = CreateWatchSchema.omit({ job_id: true })
  .loose()
  .superRefine(notTooDeep)
  .openapi("StartExport", {
    description:
      "Rendley's `POST /v1/export` body (any fields, passed on as sent) plus the watch fields of `CreateWatch` " +
      "(`callback_url`, `events`, `metadata`, `retry_schedule`, `callback_headers`), which the relay keeps for itself.",
    example: {
      project_id: "prj_123",
      settings: { target_resolution: "1080p", codec: "h264" },
      callback_url: "https://app.example.com/hooks/rendley",
      events: ["job.completed", "job.failed"],
      metadata: { order_id: "ord_42" },
    },
  });

const ExportCostSchema = z
  .looseObject({})
  .superRefine(notTooDeep)
  .openapi("ExportCostRequest", {
    description: "Rendley's export body, as for `POST /v1/export` (the relay's watch fields, if present, are left out).",
    example: { project_id: "prj_123", settings: { target_resolution: "1080p", codec: "h264" } },
  });

const StartedExportEnvelope = z.object({
  data: z.object({ job_id: JobIdSchema, watch: WatchSchema }).openapi("StartedExport"),
});

const idempotencyHeader = z.object({
  "idempotency-key": z
    .string()
    .optional()
    .openapi({
      description:
        "A retry with the same key and body answers with the first request's job and watch (200) without starting another export; " +
        "a different body → 409.",
    }),
});

const upstreamErrors = {
  402: json(ErrorSchema, "Rendley refused: too few credits (upstream_error; any 4xx from Rendley is passed on with its message)"),
  502: json(ErrorSchema, "Rendley failed (5xx), is unreachable, or gave an unusable answer (upstream_error)"),
  504: json(ErrorSchema, "Rendley did not answer within UPSTREAM_TIMEOUT_MS (upstream_timeout)"),
};

const startExportRoute = createRoute({
  method: "post",
  path: "/v1/export",
  tags,
  summary: "Start a Rendley export and watch its job in one call",
  description:
    "Checks the callback URL, then calls Rendley's `POST /v1/export` with the tenant's Rendley key and registers a watch " +
    "for the returned job id. If Rendley refuses or fails, nothing is stored and its status and message are returned.",
  security,
  request: {
    headers: idempotencyHeader,
    body: { content: { "application/json": { schema: StartExportSchema } }, required: true },
  },
  responses: {
    201: json(StartedExportEnvelope, "Export started and watched; the first poll happens at once"),
    200: json(StartedExportEnvelope, "Idempotent repeat: the job and watch of the first request"),
    400: json(ErrorSchema, "Invalid request (validation_failed, invalid_json, callback_url_*), or Rendley answered 400"),
    409: json(ErrorSchema, "Idempotency-Key reused or in flight (idempotency_conflict), or no Rendley key (rendley_key_missing)"),
    415: json(ErrorSchema, "Body is not JSON (unsupported_media_type)"),
    ...upstreamErrors,
  },
});

const exportCostRoute = createRoute({
  method: "post",
  path: "/v1/export/cost",
  tags,
  summary: "The credit price of an export, from Rendley's `POST /v1/export/cost` (nothing is started)",
  security,
  request: { body: { content: { "application/json": { schema: ExportCostSchema } }, required: true } },
  responses: {
    200: json(z.looseObject({}).openapi({ example: { data: { credits: 10 } } }), "Rendley's answer, status and body as received"),
    400: json(ErrorSchema, "Invalid request (validation_failed, invalid_json), or Rendley answered 400"),
    409: json(ErrorSchema, "The tenant has no Rendley key (rendley_key_missing)"),
    415: json(ErrorSchema, "Body is not JSON (unsupported_media_type)"),
    ...upstreamErrors,
  },
});

/** The request body as parsed (not as zod rebuilt it), without the relay's fields: what goes to Rendley. */
async function rendleyBody(c: Context<ApiEnv>): Promise<Record<string, unknown>> {
  const raw = (await c.req.json()) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) {
    if (!(RELAY_FIELDS as readonly string[]).includes(key))
      Object.defineProperty(out, key, { value: raw[key], enumerable: true });
  }
  return out;
}

/** An upstream failure as the API answers it: Rendley's 4xx status kept, 5xx → 502, no answer → 502/504. */
function upstreamError(c: Context<ApiEnv>, failure: UpstreamFailure): AppError {
  if (failure.retryAfter && (failure.statusCode === 429 || failure.statusCode === 503))
    c.header("retry-after", failure.retryAfter);
  if (failure.reason === "timeout") return new AppError("upstream_timeout", 504, failure.message);
  const status = failure.statusCode;
  if (failure.reason === "status" && status !== undefined && status >= 400 && status < 500) {
    return new AppError(
      "upstream_error",
      status as ContentfulStatusCode,
      `Rendley refused the request (${status}): ${failure.message}`,
    );
  }
  const prefix = status !== undefined && failure.reason === "status" ? `Rendley failed (${status}): ` : "";
  return new AppError("upstream_error", 502, `${prefix}${failure.message}`);
}

/**
 * One call to start and watch: `POST /v1/export` (Rendley's export plus a watch on its job) and
 * `POST /v1/export/cost` (Rendley's price, passed through). Both use the tenant's own Rendley key.
 * @param hooks.onWatchCreated wakes the scheduler so the first poll happens at once
 */
export function exportRoutes(
  deps: Pick<Deps, "config" | "db" | "clock" | "random" | "logger" | "resolver" | "tenantKeys" | "upstream">,
  hooks: { onWatchCreated: () => void },
) {
  const { db, clock, random, config } = deps;
  const logger = deps.logger.child({ component: "api" });
  const app = createRouter();

  async function keyFor(tenantId: string): Promise<string> {
    const apiKey = await deps.tenantKeys.keyFor(tenantId);
    if (!apiKey) throw new ConflictError("rendley_key_missing", "this tenant has no Rendley API key (set it with the admin API)");
    return apiKey;
  }

  async function answer(tenantId: string, watchId: string, status: 200 | 201) {
    const [watch] = await loadWatchViews(db, tenantId, [watchId]);
    if (!watch) throw new NotFoundError("watch");
    return { body: { data: { job_id: watch.job_id, watch } }, status };
  }

  /** The first request's answer (200) when a watch is stored under this key; a different body → 409. */
  async function storedAnswer(tenantId: string, idempotencyKey: string, requestHash: string | undefined) {
    const existing = await findWatchByIdempotencyKey(db, { tenantId, idempotencyKey });
    if (!existing) return undefined;
    if (existing.requestHash !== (requestHash ?? null)) throw idempotencyConflict();
    return answer(tenantId, existing.watchId, 200);
  }

  app.openapi(startExportRoute, async (c) => {
    const body = c.req.valid("json");
    const idempotencyKey = c.req.valid("header")["idempotency-key"];
    assertIdempotencyKey(idempotencyKey);
    // Before anything goes upstream: a callback that can never be delivered must not start a billable export.
    const callbackUrl = await checkedCallbackUrl(deps, body.callback_url);

    const tenantId = c.get("tenantId");
    const events = [...new Set(body.events ?? DEFAULT_EVENTS)];
    const metadata = body.metadata ?? null;
    const upstreamBody = await rendleyBody(c);
    const requestHash = idempotencyKey
      ? sha256Hex(
          stableStringify({
            kind: "export",
            export: upstreamBody,
            callback_url: body.callback_url,
            events,
            metadata,
            retry_schedule: body.retry_schedule,
            callback_headers: body.callback_headers,
          }),
        )
      : undefined;

    // One export per key across every relay process: the first request holds a lease on the key while it waits
    // for Rendley; a repeat meanwhile is told to retry, and one after it finds the stored watch.
    const lease = idempotencyKey
      ? { key: idempotencyKey, name: `export:${tenantId}:${sha256Hex(idempotencyKey)}`, owner: random.bytes(12).toString("hex") }
      : undefined;
    if (lease) {
      const repeat = await storedAnswer(tenantId, lease.key, requestHash);
      if (repeat) return c.json(repeat.body, repeat.status);
      const ttlMs = config.upstreamTimeoutMs + EXPORT_LEASE_MARGIN_MS;
      if (!(await acquireLease(db, { name: lease.name, owner: lease.owner, now: clock.now(), ttlMs }))) {
        throw new ConflictError(
          "idempotency_conflict",
          "a request with this Idempotency-Key is still in progress; retry shortly",
        );
      }
    }
    try {
      // A request that finished between the lookup and the lease stored its watch before it let go of the key.
      const finished = lease ? await storedAnswer(tenantId, lease.key, requestHash) : undefined;
      if (finished) return c.json(finished.body, finished.status);
      const apiKey = await keyFor(tenantId);
      const started = await startExport(deps.upstream, upstreamBody, {
        apiKey,
        isUsableJobId: (id) => JobIdSchema.safeParse(id).success,
      });
      if (started.kind === "failed") {
        logger.warn(
          { requestId: c.get("requestId"), reason: started.reason, statusCode: started.statusCode },
          "upstream export refused or failed",
        );
        throw upstreamError(c, started);
      }
      let stored: CreateWatchResult;
      try {
        stored = await createWatch(
          db,
          {
            tenantId,
            jobId: started.jobId,
            callbackUrl: callbackUrl.href,
            events,
            metadata,
            retryScheduleMs: body.retry_schedule,
            callbackHeaders: body.callback_headers,
            idempotencyKey,
            requestHash,
          },
          { now: clock.now(), random, pollMinIntervalMs: config.pollMinIntervalMs },
        );
      } catch (err) {
        // The export runs upstream whatever happens here: name its job so the client can still watch it.
        logger.error(
          { err: errorForLog(err), jobId: started.jobId, requestId: c.get("requestId") },
          "export started, watch not stored",
        );
        if (err instanceof AppError) throw err;
        throw new AppError(
          "service_unavailable",
          503,
          `the export started upstream (job_id ${started.jobId}) but its watch could not be stored: register it with POST /v1/watches`,
          undefined,
          { cause: err },
        );
      }
      if (stored.kind === "conflict") throw idempotencyConflict();
      if (stored.kind === "repeat") {
        // Another relay process stored a watch under this key between the lookup above and now.
        logger.warn({ jobId: started.jobId, requestId: c.get("requestId") }, "idempotent export raced: this job is not watched");
      } else hooks.onWatchCreated();
      logger.info({ requestId: c.get("requestId"), jobId: started.jobId, watchId: stored.watchId }, "export started and watched");
      const reply = await answer(tenantId, stored.watchId, stored.kind === "created" ? 201 : 200);
      return c.json(reply.body, reply.status);
    } finally {
      if (lease) {
        await releaseLease(db, lease).catch((err: unknown) =>
          // Left to expire: a repeat is refused as in progress until then, never sent to Rendley twice.
          logger.warn({ err: errorForLog(err), requestId: c.get("requestId") }, "export idempotency lease not released"),
        );
      }
    }
  });

  app.openapi(exportCostRoute, async (c) => {
    c.req.valid("json");
    const apiKey = await keyFor(c.get("tenantId"));
    const result = await exportCost(deps.upstream, await rendleyBody(c), { apiKey });
    if (result.kind === "failed") throw upstreamError(c, result);
    return c.json(result.body as Record<string, unknown>, result.statusCode as 200);
  });

  return app;
}
