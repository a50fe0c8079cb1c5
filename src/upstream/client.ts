import { request, type Dispatcher } from "undici";
import type { Clock } from "../lib/clock.js";
import { deadline } from "../lib/deadline.js";
import { readBodyCapped } from "../lib/read-body.js";
import { parseRetryAfterMs } from "../lib/retry-after.js";
import { jobEnvelopeSchema, upstreamJobSchema } from "./job-schema.js";
import { fillPath, SERVICE_PATHS } from "./paths.js";
import { DEFAULT_JOB_SERVICE, isTerminal, jobStatusOf, type JobService, type UpstreamJob } from "../domain/job.js";

/**
 * What one `GET /v1/jobs/{id}` came to. Network outcomes are values, never thrown. `ok` carries the job as
 * received, its status as the service spelt it (the domain's `jobStatusOf` reads it).
 */
export type JobFetchResult =
  | { kind: "ok"; job: UpstreamJob }
  | { kind: "not_found" }
  | { kind: "rate_limited"; retryAfterMs: number | undefined }
  | { kind: "unauthorized"; statusCode: 401 | 403 }
  | { kind: "error"; reason: "timeout" | "network" | "status" | "bad_response" | "no_key"; statusCode?: number; message: string };

export type JobCancelResult =
  | { kind: "canceled" }
  | { kind: "already_finished" }
  /** The service has no cancel endpoint the relay knows (agent jobs without RENDLEY_AGENT_CANCEL_URL). */
  | { kind: "unsupported" }
  | { kind: "error"; message: string; statusCode?: number };

/** What one `GET /v1/jobs?…` (the job list) came to: its entries, or why there are none to use. */
export type JobListResult =
  | { kind: "ok"; jobs: UpstreamJob[] }
  | { kind: "too_large"; maxBytes: number }
  | { kind: "error"; reason: "timeout" | "network" | "status" | "bad_response"; statusCode?: number; message: string };

/** Which service a call is for (default `api`). */
export interface ServiceOption {
  service?: JobService | undefined;
}

/** What a `POST` came to: the answer as received (the caller interprets it), or no answer. */
export type UpstreamPostResult =
  | { kind: "answer"; statusCode: number; headers: Record<string, string | string[] | undefined>; text: string }
  | { kind: "error"; reason: "timeout" | "network"; message: string };

/** Every call names the Rendley key it uses: each tenant has its own. */
export interface UpstreamClient {
  getJob(jobId: string, options: { apiKey: string; signal?: AbortSignal } & ServiceOption): Promise<JobFetchResult>;
  /** Cancels upstream; a refusal is followed by a GET to tell "already finished" from a real error. */
  cancelJob(jobId: string, options: { apiKey: string; signal?: AbortSignal } & ServiceOption): Promise<JobCancelResult>;
  /** The api service's job list (`GET /v1/jobs?…`), read up to `maxBytes`: no paging or size limit is documented. */
  listJobs(
    query: Readonly<Record<string, string>>,
    options: { apiKey: string; maxBytes: number; signal?: AbortSignal },
  ): Promise<JobListResult>;
  /** Checks a key with a cheap authorised call (`GET /v1/jobs?source_type=api`): accepted, rejected, or unknown (no answer). */
  probeKey(options: { apiKey: string }): Promise<"accepted" | "rejected" | "unknown">;
  /** `POST` of a JSON body (e.g. `/v1/export`), sent once: never retried, since it may start billable work. */
  post(
    path: string,
    body: string,
    options: { apiKey: string; signal?: AbortSignal } & ServiceOption,
  ): Promise<UpstreamPostResult>;
}

/** Upstream bodies beyond this are not a job object; reading stops there. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Typed calls to Rendley's job API.
 * @param options.baseUrl e.g. `https://api.rendley.com` (no trailing slash)
 * @param options.agentBaseUrl the agent service, e.g. `https://mcp.rendley.com` (default: `baseUrl`)
 * @param options.agentCancelUrl where agent jobs are canceled (POST, `{id}` filled in); undefined: unsupported
 * @param options.dispatcher undici dispatcher with keep-alive (injected so tests and benchmarks control it)
 * @param options.timeoutMs hard deadline for the whole request, body included
 */
export function createUpstreamClient(options: {
  baseUrl: string;
  agentBaseUrl?: string | undefined;
  agentCancelUrl?: string | undefined;
  dispatcher: Dispatcher;
  timeoutMs: number;
  clock: Clock;
  userAgent: string;
}): UpstreamClient {
  const { dispatcher, timeoutMs, clock, userAgent } = options;
  const baseUrls: Record<JobService, string> = { api: options.baseUrl, agent: options.agentBaseUrl ?? options.baseUrl };
  const urlOf = (service: JobService | undefined, path: string) => `${baseUrls[service ?? DEFAULT_JOB_SERVICE]}${path}`;

  /**
   * One request, read to the end (body capped at `maxBytes`, `truncated` when it was longer). No answer is a
   * value: timed out at the deadline, or no connection.
   */
  async function call(
    method: "GET" | "DELETE" | "POST",
    url: string,
    apiKey: string,
    signal?: AbortSignal,
    body?: string,
    maxBytes = MAX_BODY_BYTES,
  ): Promise<UpstreamPostResult & { truncated?: boolean }> {
    const limit = deadline(timeoutMs, signal);
    try {
      const res = await request(url, {
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
      const { text, truncated } = await readBodyCapped(res.body, maxBytes);
      return { kind: "answer", statusCode: res.statusCode, headers: res.headers, text, truncated };
    } catch (err) {
      if (limit.timedOut) return { kind: "error", reason: "timeout", message: `no answer within ${timeoutMs} ms` };
      const e = err as Error & { code?: string };
      return { kind: "error", reason: "network", message: e.code ?? e.message };
    } finally {
      limit.done();
    }
  }

  async function getJob(jobId: string, opts: { apiKey: string; signal?: AbortSignal } & ServiceOption): Promise<JobFetchResult> {
    const service = opts.service ?? DEFAULT_JOB_SERVICE;
    const res = await call("GET", urlOf(service, fillPath(SERVICE_PATHS[service].job, { id: jobId })), opts.apiKey, opts.signal);
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

  async function cancelJob(
    jobId: string,
    opts: { apiKey: string; signal?: AbortSignal } & ServiceOption,
  ): Promise<JobCancelResult> {
    const service = opts.service ?? DEFAULT_JOB_SERVICE;
    const target =
      service === "api"
        ? { method: "DELETE" as const, url: urlOf(service, fillPath(SERVICE_PATHS.api.cancel, { id: jobId })) }
        : options.agentCancelUrl
          ? { method: "POST" as const, url: fillPath(options.agentCancelUrl, { id: jobId }) }
          : undefined;
    if (!target) return { kind: "unsupported" };
    const res = await call(target.method, target.url, opts.apiKey, opts.signal, target.method === "POST" ? "{}" : undefined);
    if (res.kind === "error") return { kind: "error", message: res.message };
    if (res.statusCode >= 200 && res.statusCode < 300) return { kind: "canceled" };
    // The reference page does not name the status for "already finished"; ask the job itself.
    const current = await getJob(jobId, opts);
    if (current.kind === "ok" && isTerminal(jobStatusOf(service, current.job.status))) {
      return { kind: "already_finished" };
    }
    return { kind: "error", statusCode: res.statusCode, message: `upstream answered ${res.statusCode}` };
  }

  async function probeKey(opts: { apiKey: string }): Promise<"accepted" | "rejected" | "unknown"> {
    const res = await call("GET", urlOf("api", `${SERVICE_PATHS.api.list}?source_type=api`), opts.apiKey);
    if (res.kind === "error") return "unknown";
    if (res.statusCode === 401 || res.statusCode === 403) return "rejected";
    return res.statusCode >= 200 && res.statusCode < 300 ? "accepted" : "unknown";
  }

  async function listJobs(
    query: Readonly<Record<string, string>>,
    opts: { apiKey: string; maxBytes: number; signal?: AbortSignal },
  ): Promise<JobListResult> {
    const search = new URLSearchParams(query).toString();
    const url = urlOf("api", `${SERVICE_PATHS.api.list}${search ? `?${search}` : ""}`);
    const res = await call("GET", url, opts.apiKey, opts.signal, undefined, opts.maxBytes);
    if (res.kind === "error") return res;
    const { statusCode } = res;
    if (statusCode !== 200) return { kind: "error", reason: "status", statusCode, message: `upstream answered ${statusCode}` };
    if (res.truncated) return { kind: "too_large", maxBytes: opts.maxBytes };
    let json: unknown;
    try {
      json = JSON.parse(res.text);
    } catch {
      return { kind: "error", reason: "bad_response", statusCode, message: "upstream list is not JSON" };
    }
    const data = (json as { data?: unknown } | null)?.data;
    if (!Array.isArray(data))
      return { kind: "error", reason: "bad_response", statusCode, message: "upstream list has no data array" };
    // An entry the relay cannot use (no id) is skipped, not the whole list.
    const jobs = data.flatMap((entry) => {
      const parsed = upstreamJobSchema.safeParse(entry);
      return parsed.success ? [parsed.data] : [];
    });
    return { kind: "ok", jobs };
  }

  async function post(
    path: string,
    body: string,
    opts: { apiKey: string; signal?: AbortSignal } & ServiceOption,
  ): Promise<UpstreamPostResult> {
    const res = await call("POST", urlOf(opts.service, path), opts.apiKey, opts.signal, body);
    if (res.kind === "error") return res;
    const { truncated: _, ...answer } = res;
    return answer;
  }

  return { getJob, cancelJob, listJobs, probeKey, post };
}
