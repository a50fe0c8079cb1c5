import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.js";
import { cancelWatch } from "../../db/queries/cancel-watch.js";
import { createWatch } from "../../db/queries/create-watch.js";
import { listWatchIds } from "../../db/queries/list-watches.js";
import { redeliverWatch } from "../../db/queries/redeliver-watch.js";
import { DEFAULT_EVENTS } from "../../domain/events.js";
import type { Deps } from "../../deps.js";
import { ConflictError, NotFoundError } from "../../errors.js";
import { sha256Hex, stableStringify } from "../../lib/hash.js";
import { assertIdempotencyKey, checkedCallbackUrl, idempotencyConflict } from "../watch-request.js";
import { loadWatchViews, toWatchView, type WatchView } from "../watch-view.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { CreateWatchSchema, ErrorSchema, ListWatchesQuery, WatchEnvelope, WatchIdParam, WatchSchema } from "../schemas.js";

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
const errors = {
  400: json(ErrorSchema, "Invalid request (validation_failed, invalid_json, callback_url_*)"),
  401: json(ErrorSchema, "Missing or invalid API key (unauthorized)"),
};
const security = [{ bearerAuth: [] }];

const createWatchRoute = createRoute({
  method: "post",
  path: "/v1/watches",
  tags: ["watches"],
  summary: "Watch a Rendley job and get a signed callback when it changes state",
  security,
  request: {
    headers: z.object({
      "idempotency-key": z
        .string()
        .optional()
        .openapi({
          description:
            "Repeating a key with the same body returns the same watch (200); a different body → 409. Keys starting with " +
            "`sub:` are the relay's own (the watches subscriptions make) → 400.",
        }),
    }),
    body: { content: { "application/json": { schema: CreateWatchSchema } }, required: true },
  },
  responses: {
    201: json(WatchEnvelope, "Watch created; the first poll happens at once"),
    200: json(WatchEnvelope, "Idempotent repeat: the watch created by the first request"),
    ...errors,
    409: json(ErrorSchema, "Idempotency-Key reused with a different body (idempotency_conflict)"),
    413: json(ErrorSchema, "Body over 64 KiB (payload_too_large)"),
    415: json(ErrorSchema, "Body is not JSON (unsupported_media_type)"),
  },
});

const getWatchRoute = createRoute({
  method: "get",
  path: "/v1/watches/{id}",
  tags: ["watches"],
  summary: "A watch with its job, deliveries and every attempt",
  security,
  request: { params: WatchIdParam },
  responses: { 200: json(WatchEnvelope, "The watch"), ...errors, 404: json(ErrorSchema, "No such watch (not_found)") },
});

const listWatchesRoute = createRoute({
  method: "get",
  path: "/v1/watches",
  tags: ["watches"],
  summary: "Watches, newest first, in pages",
  security,
  request: { query: ListWatchesQuery },
  responses: {
    200: json(z.object({ data: z.array(WatchSchema), next_cursor: z.string().nullable() }), "A page of watches"),
    ...errors,
  },
});

const cancelWatchRoute = createRoute({
  method: "delete",
  path: "/v1/watches/{id}",
  tags: ["watches"],
  summary: "Stop watching: no more polls or callbacks; optionally cancel the job upstream too",
  security,
  request: {
    params: WatchIdParam,
    query: z.strictObject({
      cancel_job: z
        .enum(["true", "false", "1", "0"])
        .optional()
        .openapi({ description: "Also send DELETE /v1/jobs/{id} to Rendley; the outcome is in data.upstream_cancel." }),
    }),
  },
  responses: {
    200: json(WatchEnvelope, "The canceled watch"),
    ...errors,
    404: json(ErrorSchema, "No such watch (not_found)"),
    409: json(ErrorSchema, "The watch already finished (watch_finished)"),
  },
});

const redeliverRoute = createRoute({
  method: "post",
  path: "/v1/watches/{id}/redeliver",
  tags: ["watches"],
  summary: "Send the watch's latest event again (same webhook-id), as a new series of attempts",
  security,
  request: { params: WatchIdParam },
  responses: {
    202: json(WatchEnvelope, "Queued"),
    ...errors,
    404: json(ErrorSchema, "No such watch (not_found)"),
    409: json(ErrorSchema, "Still watching (watch_active), canceled (watch_finished) or nothing sent yet (nothing_to_redeliver)"),
  },
});

/**
 * The watches resource.
 * @param hooks.onWatchCreated wakes the scheduler so the first poll happens at once
 * @param hooks.onRedeliver wakes the delivery worker
 */
export function watchesRoutes(
  deps: Pick<Deps, "config" | "db" | "clock" | "random" | "logger" | "resolver" | "tenantKeys" | "upstream">,
  hooks: { onWatchCreated: () => void; onRedeliver: () => void },
) {
  const { db, clock, random, config } = deps;
  const app = createRouter();

  async function loadOne(tenantId: string, id: string): Promise<WatchView> {
    const [view] = await loadWatchViews(db, tenantId, [id]);
    if (!view) throw new NotFoundError("watch");
    return view;
  }

  app.openapi(createWatchRoute, async (c) => {
    const body = c.req.valid("json");
    const idempotencyKey = c.req.valid("header")["idempotency-key"];
    assertIdempotencyKey(idempotencyKey);
    const callbackUrl = await checkedCallbackUrl(deps, body.callback_url);

    const events = [...new Set(body.events ?? DEFAULT_EVENTS)];
    const metadata = body.metadata ?? null;
    const tenantId = c.get("tenantId");
    const stored = await createWatch(
      db,
      {
        tenantId,
        jobId: body.job_id,
        service: body.service,
        callbackUrl: callbackUrl.href,
        events,
        metadata,
        retryScheduleMs: body.retry_schedule,
        callbackHeaders: body.callback_headers,
        idempotencyKey,
        requestHash: idempotencyKey
          ? sha256Hex(
              stableStringify({
                job_id: body.job_id,
                ...(body.service && body.service !== "api" ? { service: body.service } : {}),
                callback_url: body.callback_url,
                events,
                metadata,
                retry_schedule: body.retry_schedule,
                callback_headers: body.callback_headers,
              }),
            )
          : undefined,
      },
      { now: clock.now(), random, pollMinIntervalMs: config.pollMinIntervalMs },
    );
    if (stored.kind === "conflict") throw idempotencyConflict();
    if (stored.kind === "repeat") return c.json({ data: await loadOne(tenantId, stored.watchId) }, 200);
    hooks.onWatchCreated();
    return c.json({ data: stored.watch ? toWatchView(stored.watch) : await loadOne(tenantId, stored.watchId) }, 201);
  });

  app.openapi(getWatchRoute, async (c) => {
    return c.json({ data: await loadOne(c.get("tenantId"), c.req.valid("param").id) }, 200);
  });

  app.openapi(listWatchesRoute, async (c) => {
    const query = c.req.valid("query");
    const tenantId = c.get("tenantId");
    const page = await listWatchIds(db, {
      tenantId,
      status: query.status,
      jobId: query.job_id,
      subscriptionId: query.subscription_id,
      limit: query.limit ?? 50,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    const data = await loadWatchViews(db, tenantId, page.ids);
    return c.json({ data, next_cursor: page.next ? encodeCursor(page.next) : null }, 200);
  });

  app.openapi(cancelWatchRoute, async (c) => {
    const { id } = c.req.valid("param");
    const cancelJob = ["true", "1"].includes(c.req.valid("query").cancel_job ?? "false");
    const tenantId = c.get("tenantId");
    const result = await cancelWatch(db, tenantId, id, clock.now());
    if (result.kind === "not_found") throw new NotFoundError("watch");
    if (result.kind === "finished")
      throw new ConflictError("watch_finished", `the watch already finished (status ${result.status})`);
    const view = await loadOne(tenantId, id);
    if (!cancelJob) return c.json({ data: view }, 200);
    const apiKey = await deps.tenantKeys.keyFor(tenantId);
    const upstream = apiKey
      ? await deps.upstream.cancelJob(result.jobId, { apiKey, service: result.service })
      : { kind: "error" as const, message: "the tenant has no Rendley API key" };
    if (upstream.kind === "error") {
      deps.logger.warn({ component: "api", jobId: result.jobId, statusCode: upstream.statusCode }, "upstream cancel failed");
    }
    return c.json({ data: { ...view, upstream_cancel: upstream.kind } }, 200);
  });

  app.openapi(redeliverRoute, async (c) => {
    const { id } = c.req.valid("param");
    const tenantId = c.get("tenantId");
    const result = await redeliverWatch(db, tenantId, id, clock.now());
    switch (result.kind) {
      case "not_found":
        throw new NotFoundError("watch");
      case "watching":
        throw new ConflictError("watch_active", "the job has not finished yet: nothing final to redeliver");
      case "canceled":
        throw new ConflictError("watch_finished", "the watch was canceled");
      case "nothing":
        throw new ConflictError("nothing_to_redeliver", "no event was sent for this watch");
      case "queued":
        hooks.onRedeliver();
        return c.json({ data: await loadOne(tenantId, id) }, 202);
    }
  });

  return app;
}
