import { request, type Dispatcher } from "undici";
import type { Clock } from "../lib/clock.js";
import { deadline } from "../lib/deadline.js";
import { readBodyCapped } from "../lib/read-body.js";
import { parseRetryAfterMs } from "../lib/retry-after.js";
import { jobEnvelopeSchema } from "./job-schema.js";
import { type UpstreamJob } from "../domain/job.js";

/** What one `GET /v1/jobs/{id}` came to. Network outcomes are values, never thrown. */
export type JobFetchResult =
  | { kind: "ok"; job: UpstreamJob }
  | { kind: "not_found" }
  | { kind: "rate_limited"; retryAfterMs: number | undefined }
  | { kind: "unauthorized"; statusCode: 401 | 403 }
  | { kind: "error"; reason: "timeout" | "network" | "status" | "bad_response" | "no_key"; statusCode?: number; message: string };

export type JobCancelResult =
  { kind: "canceled" } | { kind: "already_finished" } | { kind: "error"; message: string; statusCode?: number };

/** What a `POST` came to: the answer as received (the caller interprets it), or no answer. */
export type UpstreamPostResult =
  | { kind: "answer"; statusCode: number; headers: Record<string, string | string[] | undefined>; text: string }
  | { kind: "error"; reason: "timeout" | "network"; message: string };

/** Every call names the Rendley key it uses: each tenant has its own. */
export interface UpstreamClient {
  getJob(jobId: string, options: { apiKey: string; signal?: AbortSignal }): Promise<JobFetchResult>;
  /** `DELETE /v1/jobs/{id}`; a refusal is followed by a GET to tell "already finished" from a real error. */
  cancelJob(jobId: string, options: { apiKey: string; signal?: AbortSignal }): Promise<JobCancelResult>;
  /** Checks a key with a cheap authorised call (`GET /v1/jobs?source_type=api`): accepted, rejected, or unknown (no answer). */
  probeKey(options: { apiKey: string }): Promise<"accepted" | "rejected" | "unknown">;
  /** `POST` of a JSON body (e.g. `/v1/export`), sent once: never retried, since it may start billable work. */
  post(path: string, body: string, options: { apiKey: string; signal?: AbortSignal }): Promise<UpstreamPostResult>;
}

const jobPath = (jobId: string) => `/v1/jobs/${encodeURIComponent(jobId)}`;

/** Upstream bodies beyond this are not a job object; reading stops there. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Typed calls to Rendley's job API.
 * @param options.baseUrl e.g. `https://api.rendley.com` (no trailing slash)
 * @param options.dispatcher undici dispatcher with keep-alive (injected so tests and benchmarks control it)
 * @param options.timeoutMs hard deadline for the whole request, body included
 */
export function createUpstreamClient(options: {
  baseUrl: string;
  dispatcher: Dispatcher;
  timeoutMs: number;
  clock: Clock;
  userAgent: string;
}): UpstreamClient {
  const { baseUrl, dispatcher, timeoutMs, clock, userAgent } = options;

  /** One request, read to the end (body capped). No answer is a value: timed out at the deadline, or no connection. */
  async function call(
    method: "GET" | "DELETE" | "POST",
    path: string,
    apiKey: string,
    signal?: AbortSignal,
    body?: string,
  ): Promise<UpstreamPostResult> {
    const limit = deadline(timeoutMs, signal);
    try {
      const res = await request(`${baseUrl}${path}`, {
        method,
        dispatcher,
        signal: limit.signal,
        headers: {
          authorization: `Bearer ${apiKey}`,
          accept: "application/json",
          "user-agent": userAgent,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body }),
      });
      const { text } = await readBodyCapped(res.body, MAX_BODY_BYTES);
      return { kind: "answer", statusCode: res.statusCode, headers: res.headers, text };
    } catch (err) {
      if (limit.timedOut) return { kind: "error", reason: "timeout", message: `no answer within ${timeoutMs} ms` };
      const e = err as Error & { code?: string };
      return { kind: "error", reason: "network", message: e.code ?? e.message };
    } finally {
      limit.done();
    }
  }

  async function getJob(jobId: string, opts: { apiKey: string; signal?: AbortSignal }): Promise<JobFetchResult> {
    const res = await call("GET", jobPath(jobId), opts.apiKey, opts.signal);
    if (res.kind === "error") return res;
    const { statusCode } = res;
    if (statusCode === 404) return { kind: "not_found" };
    if (statusCode === 429)
      return { kind: "rate_limited", retryAfterMs: parseRetryAfterMs(res.headers["retry-after"], clock.now()) };
    if (statusCode === 401 || statusCode === 403) return { kind: "unauthorized", statusCode };
    if (statusCode !== 200) return { kind: "error", reason: "status", statusCode, message: `upstream answered ${statusCode}` };
    let json: unknown;
    try {
      json = JSON.parse(res.text);
    } catch {
      return { kind: "error", reason: "bad_response", statusCode, message: "upstream body is not JSON" };
    }
    const parsed = jobEnvelopeSchema.safeParse(json);
    if (!parsed.success)
      return { kind: "error", reason: "bad_response", statusCode, message: "upstream body is not a job object" };
    if (parsed.data.data.id !== jobId) {
      return { kind: "error", reason: "bad_response", statusCode, message: "upstream answered with another job's id" };
    }
    return { kind: "ok", job: parsed.data.data };
  }

  async function cancelJob(jobId: string, opts: { apiKey: string; signal?: AbortSignal }): Promise<JobCancelResult> {
    const res = await call("DELETE", jobPath(jobId), opts.apiKey, opts.signal);
    if (res.kind === "error") return { kind: "error", message: res.message };
    if (res.statusCode >= 200 && res.statusCode < 300) return { kind: "canceled" };
    // The reference page does not name the status for "already finished"; ask the job itself.
    const current = await getJob(jobId, opts);
    if (current.kind === "ok" && ["completed", "failed", "canceled"].includes(current.job.status)) {
      return { kind: "already_finished" };
    }
    return { kind: "error", statusCode: res.statusCode, message: `upstream answered ${res.statusCode}` };
  }

  async function probeKey(opts: { apiKey: string }): Promise<"accepted" | "rejected" | "unknown"> {
    const res = await call("GET", "/v1/jobs?source_type=api", opts.apiKey);
    if (res.kind === "error") return "unknown";
    if (res.statusCode === 401 || res.statusCode === 403) return "rejected";
    return res.statusCode >= 200 && res.statusCode < 300 ? "accepted" : "unknown";
  }

  async function post(path: string, body: string, opts: { apiKey: string; signal?: AbortSignal }): Promise<UpstreamPostResult> {
    return call("POST", path, opts.apiKey, opts.signal, body);
  }

  return { getJob, cancelJob, probeKey, post };
}
