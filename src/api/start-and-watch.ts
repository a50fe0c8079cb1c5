import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ApiEnv } from "./auth.js";
import { acquireLease, releaseLease } from "../db/queries/acquire-lease.js";
import { createWatch, type CreateWatchResult } from "../db/queries/create-watch.js";
import { findWatchByIdempotencyKey } from "../db/queries/find-watch-by-idempotency-key.js";
import { DEFAULT_EVENTS } from "../domain/events.js";
import { DEFAULT_JOB_SERVICE, isUsableJobId } from "../domain/job.js";
import type { Deps } from "../deps.js";
import { AppError, ConflictError, NotFoundError } from "../errors.js";
import { errorForLog } from "../lib/error-for-log.js";
import { sha256Hex, stableStringify } from "../lib/hash.js";
import { jobCost, startJob, type UpstreamEndpoint, type UpstreamFailure } from "../upstream/start-job.js";
import { RELAY_FIELDS, type StartBody } from "./start-schemas.js";
import { assertIdempotencyKey, checkedCallbackUrl, idempotencyConflict } from "./watch-request.js";
import { loadWatchViews } from "./watch-view.js";

/** An idempotency lease outlives Rendley's answer by this much (a crashed holder's key frees up after it). */
const LEASE_MARGIN_MS = 30_000;

/** One Rendley endpoint that starts a job. */
export interface StartEndpoint {
  /**
   * Names the request in logs, in its idempotency lease and in its request hash (`export`, `ai/transcribe`,
   * `agent`): the same key and body sent to two endpoints are two different requests.
   */
  name: string;
  /** Where Rendley starts the job (a filled-in `SERVICE_PATHS` path) and the service that owns it. */
  upstream: UpstreamEndpoint;
}

export type StartAndWatchDeps = Pick<
  Deps,
  "config" | "db" | "clock" | "random" | "logger" | "resolver" | "tenantKeys" | "upstream"
>;

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
 * Start-and-watch, shared by every route that starts a Rendley job (`POST /v1/export`, `/v1/ai/{action}`,
 * `/v1/agent`), and the price routes beside them. Both use the tenant's own Rendley key.
 * - `start`: the relay's fields are checked (the callback URL included) before anything goes upstream, then
 *   Rendley's body goes to the endpoint and the job id it answers becomes a watch in the same request.
 *   An Idempotency-Key holds a lease across relay processes while Rendley answers.
 * - `cost`: Rendley's price, status and JSON body as received.
 * @param hooks.onWatchCreated wakes the scheduler so the first poll happens at once
 */
export function createStartAndWatch(deps: StartAndWatchDeps, hooks: { onWatchCreated: () => void }) {
  const { db, clock, random, config } = deps;
  const logger = deps.logger.child({ component: "api" });

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

  /** The first request's answer (200) when a watch is stored under this key; a different request → 409. */
  async function storedAnswer(tenantId: string, idempotencyKey: string, requestHash: string | undefined) {
    const existing = await findWatchByIdempotencyKey(db, { tenantId, idempotencyKey });
    if (!existing) return undefined;
    if (existing.requestHash !== (requestHash ?? null)) throw idempotencyConflict();
    return answer(tenantId, existing.watchId, 200);
  }

  async function start(c: Context<ApiEnv>, endpoint: StartEndpoint, body: StartBody, idempotencyKey: string | undefined) {
    assertIdempotencyKey(idempotencyKey);
    // Before anything goes upstream: a callback that can never be delivered must not start a billable job.
    const callbackUrl = await checkedCallbackUrl(deps, body.callback_url);

    const tenantId = c.get("tenantId");
    const requestId = c.get("requestId");
    const service = endpoint.upstream.service ?? DEFAULT_JOB_SERVICE;
    const events = [...new Set(body.events ?? DEFAULT_EVENTS)];
    const metadata = body.metadata ?? null;
    const upstreamBody = await rendleyBody(c);
    const requestHash = idempotencyKey
      ? sha256Hex(
          stableStringify({
            // Shaped as when exports were the only start (Rendley's body under `export`): stored hashes still match.
            kind: endpoint.name,
            export: upstreamBody,
            callback_url: body.callback_url,
            events,
            metadata,
            retry_schedule: body.retry_schedule,
            callback_headers: body.callback_headers,
          }),
        )
      : undefined;

    // One job per key across every relay process and every start endpoint: the first request holds a lease on
    // the key while it waits for Rendley; a repeat meanwhile (to this endpoint or another) is told to retry, and
    // one after it finds the stored watch. The lease keeps the name exports used before other endpoints existed.
    const lease = idempotencyKey
      ? {
          key: idempotencyKey,
          name: `export:${tenantId}:${sha256Hex(idempotencyKey)}`,
          owner: random.bytes(12).toString("hex"),
        }
      : undefined;
    if (lease) {
      const repeat = await storedAnswer(tenantId, lease.key, requestHash);
      if (repeat) return repeat;
      const ttlMs = config.upstreamTimeoutMs + LEASE_MARGIN_MS;
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
      if (finished) return finished;
      const apiKey = await keyFor(tenantId);
      const started = await startJob(deps.upstream, endpoint.upstream, upstreamBody, {
        apiKey,
        isUsableJobId,
      });
      if (started.kind === "failed") {
        logger.warn(
          { requestId, endpoint: endpoint.name, reason: started.reason, statusCode: started.statusCode },
          "upstream start refused or failed",
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
            service,
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
        // The job runs upstream whatever happens here: name it so the client can still watch it.
        logger.error(
          { err: errorForLog(err), endpoint: endpoint.name, jobId: started.jobId, requestId },
          "job started, watch not stored",
        );
        if (err instanceof AppError) throw err;
        const register = service === DEFAULT_JOB_SERVICE ? "POST /v1/watches" : `POST /v1/watches with "service": "${service}"`;
        throw new AppError(
          "service_unavailable",
          503,
          `the ${endpoint.name} job started upstream (job_id ${started.jobId}) but its watch could not be stored: register it with ${register}`,
          undefined,
          { cause: err },
        );
      }
      if (stored.kind === "conflict") throw idempotencyConflict();
      if (stored.kind === "repeat") {
        // Another relay process stored a watch under this key between the lookup above and now.
        logger.warn(
          { endpoint: endpoint.name, jobId: started.jobId, requestId },
          "idempotent start raced: this job is not watched",
        );
      } else hooks.onWatchCreated();
      logger.info(
        { requestId, endpoint: endpoint.name, jobId: started.jobId, watchId: stored.watchId },
        "job started and watched",
      );
      return await answer(tenantId, stored.watchId, stored.kind === "created" ? 201 : 200);
    } finally {
      if (lease) {
        await releaseLease(db, lease).catch((err: unknown) =>
          // Left to expire: a repeat is refused as in progress until then, never sent to Rendley twice.
          logger.warn({ err: errorForLog(err), requestId }, "start idempotency lease not released"),
        );
      }
    }
  }

  /** Rendley's price for the body (the relay's fields left out): its status and JSON body as received. */
  async function cost(c: Context<ApiEnv>, endpoint: UpstreamEndpoint) {
    const apiKey = await keyFor(c.get("tenantId"));
    const result = await jobCost(deps.upstream, endpoint, await rendleyBody(c), { apiKey });
    if (result.kind === "failed") throw upstreamError(c, result);
    return { body: result.body, status: result.statusCode };
  }

  return { start, cost };
}
