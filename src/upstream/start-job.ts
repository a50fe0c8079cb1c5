import type { JobService } from "../domain/job.js";
import type { UpstreamClient, UpstreamPostResult } from "./client.js";

/** Why an upstream call did not give the relay what it needed. */
export interface UpstreamFailure {
  kind: "failed";
  /** `status`: Rendley answered non-2xx; `bad_response`: a 2xx the relay cannot use; `timeout`/`network`: no answer. */
  reason: "status" | "bad_response" | "timeout" | "network";
  /** Rendley's HTTP status, when it answered. */
  statusCode?: number;
  /** Rendley's own error message (sanitised, at most MAX_UPSTREAM_MESSAGE characters), or what went wrong. */
  message: string;
  /** Rendley's Retry-After, passed on with a 429 or 503. */
  retryAfter?: string;
}

export type StartJobResult = { kind: "started"; jobId: string; statusCode: number } | UpstreamFailure;
export type JobCostResult = { kind: "answer"; statusCode: number; body: unknown } | UpstreamFailure;

/**
 * Where a job is started or priced: a path of `SERVICE_PATHS` (placeholders filled in) on a service's base URL.
 * `service` defaults to `api`.
 */
export interface UpstreamEndpoint {
  path: string;
  service?: JobService | undefined;
}

/** Upstream error messages are cut here: they end up in API answers and logs. */
export const MAX_UPSTREAM_MESSAGE = 300;

/**
 * Starts a job (`POST /v1/export`, `POST /v1/ai/{action}`, the agent's `POST /v1/agent`) with the tenant's key.
 * Success is a 2xx whose body names the job id in any shape Rendley has used: `{"data": {"job_id": "…"}}`
 * (the reference), `{"data": "…"}`, a bare JSON string `"…"` (older deployments) or a top-level `{"job_id"}`.
 * The request is sent once: a timeout may still have started the job upstream, which only the caller can reconcile.
 * @param isUsableJobId the job id must pass this (what the relay can store and poll), else `bad_response`
 */
export async function startJob(
  upstream: UpstreamClient,
  endpoint: UpstreamEndpoint,
  body: Record<string, unknown>,
  options: { apiKey: string; isUsableJobId: (id: string) => boolean; signal?: AbortSignal },
): Promise<StartJobResult> {
  const res = await post(upstream, endpoint, body, options);
  if (res.kind === "error") return noAnswer(res);
  if (res.statusCode < 200 || res.statusCode > 299) return refused(res, options.apiKey);
  const jobId = jobIdOf(parseJson(res.text));
  if (jobId === undefined) {
    return { kind: "failed", reason: "bad_response", statusCode: res.statusCode, message: "Rendley's answer carries no job_id" };
  }
  if (!options.isUsableJobId(jobId)) {
    return {
      kind: "failed",
      reason: "bad_response",
      statusCode: res.statusCode,
      message: "Rendley answered with a job_id the relay cannot watch",
    };
  }
  return { kind: "started", jobId, statusCode: res.statusCode };
}

/**
 * The credit price of a request, without starting it (`POST /v1/export/cost`, `POST /v1/ai/{action}/cost`).
 * A 2xx JSON answer is returned as is, whatever its shape (`{"data": {"credits"}}`, `{"credits"}`, a bare number).
 */
export async function jobCost(
  upstream: UpstreamClient,
  endpoint: UpstreamEndpoint,
  body: Record<string, unknown>,
  options: { apiKey: string; signal?: AbortSignal },
): Promise<JobCostResult> {
  const res = await post(upstream, endpoint, body, options);
  if (res.kind === "error") return noAnswer(res);
  if (res.statusCode < 200 || res.statusCode > 299) return refused(res, options.apiKey);
  const json = parseJson(res.text);
  if (json === undefined) {
    return { kind: "failed", reason: "bad_response", statusCode: res.statusCode, message: "Rendley's answer is not JSON" };
  }
  return { kind: "answer", statusCode: res.statusCode, body: json };
}

/** One POST, never retried: it may start billable work. */
function post(
  upstream: UpstreamClient,
  endpoint: UpstreamEndpoint,
  body: object,
  options: { apiKey: string; signal?: AbortSignal },
) {
  return upstream.post(endpoint.path, JSON.stringify(body), {
    apiKey: options.apiKey,
    signal: options.signal,
    service: endpoint.service,
  });
}

/** The job id of a start answer, or undefined when none of the known shapes carries a non-empty string. */
function jobIdOf(json: unknown): string | undefined {
  const data = isObject(json) ? json.data : undefined;
  const candidates = [isObject(data) ? data.job_id : data, isObject(json) ? json.job_id : json];
  return candidates.find((id): id is string => typeof id === "string" && id !== "");
}

function noAnswer(res: Extract<UpstreamPostResult, { kind: "error" }>): UpstreamFailure {
  return {
    kind: "failed",
    reason: res.reason,
    message:
      res.reason === "timeout" ? `Rendley did not answer in time (${res.message})` : `Rendley is unreachable (${res.message})`,
  };
}

function refused(res: Extract<UpstreamPostResult, { kind: "answer" }>, apiKey: string): UpstreamFailure {
  const retryAfter = res.headers["retry-after"];
  return {
    kind: "failed",
    reason: "status",
    statusCode: res.statusCode,
    message: upstreamMessage(res.text, apiKey) ?? `Rendley answered ${res.statusCode}`,
    ...(typeof retryAfter === "string" && /^[\x20-\x7e]{1,64}$/.test(retryAfter) ? { retryAfter } : {}),
  };
}

/**
 * Rendley's error message out of its answer (`{"error": {"message"}}`, `{"error": "…"}`, `{"message"}`, or a
 * short plain-text body), made safe to hand on: control characters dropped, whitespace collapsed, the API key
 * (should it be echoed) redacted, cut at MAX_UPSTREAM_MESSAGE characters. Undefined when there is none (HTML pages).
 */
export function upstreamMessage(text: string, apiKey?: string): string | undefined {
  const json = parseJson(text);
  let raw: unknown;
  if (isObject(json)) {
    const error = json.error;
    raw = isObject(error) ? (error.message ?? error.code) : (error ?? json.message ?? json.detail);
  } else if (json === undefined && !/^\s*</.test(text)) {
    raw = text;
  }
  if (typeof raw !== "string") return undefined;
  let message = raw
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  if (apiKey) message = message.split(apiKey).join("[redacted]");
  if (message === "") return undefined;
  return message.length > MAX_UPSTREAM_MESSAGE ? `${message.slice(0, MAX_UPSTREAM_MESSAGE - 1)}…` : message;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
