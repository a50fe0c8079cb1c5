import { Agent, request } from "undici";

/** The orchestrator's own calls (control endpoints, relay API): keep-alive, generous deadlines for big stats. */
export const controlAgent = new Agent({
  keepAliveTimeout: 30_000,
  connections: 128,
  headersTimeout: 120_000,
  bodyTimeout: 120_000,
});

/** An answer that was not 2xx. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what} → ${statusCode}: ${body.slice(0, 300)}`);
  }
}

/** A JSON request; throws HttpError on a non-2xx answer. */
export async function jsonRequest<T>(
  method: "GET" | "POST" | "DELETE",
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; data: T }> {
  const res = await request(url, {
    method,
    dispatcher: controlAgent,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode > 299) throw new HttpError(res.statusCode, text, `${method} ${url}`);
  return { status: res.statusCode, data: (text ? JSON.parse(text) : undefined) as T };
}

/** GET a JSON document. */
export async function getJson<T>(url: string): Promise<T> {
  return (await jsonRequest<T>("GET", url)).data;
}

/** POST a JSON document, read a JSON answer. */
export async function postJson<T>(url: string, body: unknown): Promise<T> {
  return (await jsonRequest<T>("POST", url, body)).data;
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Polls `probe` every `everyMs` until it returns a value other than undefined, or `timeoutMs` passes
 * (then resolves undefined: callers record the shortfall instead of hanging).
 */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 250,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(everyMs, deadline - Date.now()));
  }
}
