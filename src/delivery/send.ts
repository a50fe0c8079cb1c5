import { request, type Dispatcher } from "undici";
import { isBlockedAddressError } from "./guarded-agent.js";
import { readBodyCapped } from "../lib/read-body.js";
import { parseRetryAfterMs } from "../lib/retry-after.js";

/** Why an attempt failed: a fixed list, stored on the attempt. */
export type AttemptError =
  | "timeout"
  | "connection_refused"
  | "connection_reset"
  | "dns"
  | "tls"
  | "blocked"
  | "redirect"
  | "too_large"
  | "status"
  | "network";

/** The outcome of one callback request. Never thrown: network failures are values too. */
export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: AttemptError | null;
  retryAfterMs?: number;
  /** Where a 3xx pointed (recorded, never followed). */
  location?: string;
  /** The request was cut short because the relay is stopping: release the claim, do not count it. */
  aborted?: boolean;
}

export interface CallbackRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** Response bodies are read up to this much, then dropped: receivers answer with whatever they like. */
const MAX_RESPONSE_BYTES = 20 * 1024;

const ERROR_CODES: Record<string, AttemptError> = {
  ECONNREFUSED: "connection_refused",
  ECONNRESET: "connection_reset",
  EPIPE: "connection_reset",
  UND_ERR_SOCKET: "connection_reset",
  UND_ERR_CLOSED: "connection_reset",
  ENOTFOUND: "dns",
  EAI_AGAIN: "dns",
  ENODATA: "dns",
  UND_ERR_CONNECT_TIMEOUT: "timeout",
  UND_ERR_HEADERS_TIMEOUT: "timeout",
  UND_ERR_BODY_TIMEOUT: "timeout",
  ETIMEDOUT: "timeout",
};

/** Maps a thrown network error (walking its causes) onto the fixed attempt error list. */
export function classifyNetworkError(err: unknown): AttemptError {
  if (isBlockedAddressError(err)) return "blocked";
  for (let e = err as { code?: string; name?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (e.name === "TimeoutError") return "timeout";
    const code = e.code ?? "";
    if (ERROR_CODES[code]) return ERROR_CODES[code];
    if (code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL") || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return "tls";
    e = e.cause as typeof e;
  }
  return "network";
}

/**
 * Sends one callback POST. The deadline covers the whole exchange, body included (undici's own
 * timeouts fire late); redirects are never followed (undici's `request` does not follow them).
 */
export async function sendCallback(
  req: CallbackRequest,
  options: { dispatcher: Dispatcher; timeoutMs: number; signal?: AbortSignal; now: () => Date },
): Promise<SendResult> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await request(req.url, {
      method: "POST",
      dispatcher: options.dispatcher,
      signal,
      headers: req.headers,
      body: req.body,
    });
    await readBodyCapped(res.body, MAX_RESPONSE_BYTES);
    const statusCode = res.statusCode;
    if (statusCode >= 200 && statusCode < 300) return { ok: true, statusCode, durationMs: elapsed(), error: null };
    const result: SendResult = {
      ok: false,
      statusCode,
      durationMs: elapsed(),
      error: statusCode >= 300 && statusCode < 400 ? "redirect" : "status",
    };
    const retryAfterMs = parseRetryAfterMs(res.headers["retry-after"], options.now());
    if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
    const location = res.headers.location;
    if (result.error === "redirect" && location) result.location = String(location).slice(0, 2048);
    return result;
  } catch (err) {
    if (options.signal?.aborted && !timeout.aborted) {
      return { ok: false, statusCode: null, durationMs: elapsed(), error: "network", aborted: true };
    }
    return { ok: false, statusCode: null, durationMs: elapsed(), error: timeout.aborted ? "timeout" : classifyNetworkError(err) };
  }
}
