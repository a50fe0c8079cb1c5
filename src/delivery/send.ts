import { request, type Dispatcher } from "undici";
import { deadline } from "../lib/deadline.js";
import { readBodyCapped } from "../lib/read-body.js";
import { parseRetryAfterMs } from "../lib/retry-after.js";
import { isBlockedAddressError } from "../security/guarded-agent.js";
import type { AttemptError, SendResult } from "../domain/attempt.js";

export interface CallbackRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** Response bodies are read up to this much, then dropped: receivers answer with whatever they like. */
export const MAX_RESPONSE_BYTES = 20 * 1024;
/** How much of the response body is kept on the attempt. */
export const RESPONSE_EXCERPT_BYTES = 1024;

const ERROR_CODES: Record<string, AttemptError> = {
  ECONNREFUSED: "connection_refused",
  EHOSTUNREACH: "connection_refused",
  ENETUNREACH: "connection_refused",
  EADDRNOTAVAIL: "connection_refused",
  ECONNRESET: "connection_reset",
  EPIPE: "connection_reset",
  UND_ERR_SOCKET: "connection_reset",
  UND_ERR_CLOSED: "connection_reset",
  ENOTFOUND: "dns",
  EAI_AGAIN: "dns",
  ENODATA: "dns",
  EAI_NONAME: "dns",
  UND_ERR_CONNECT_TIMEOUT: "timeout",
  UND_ERR_HEADERS_TIMEOUT: "timeout",
  UND_ERR_BODY_TIMEOUT: "timeout",
  ETIMEDOUT: "timeout",
  UND_ERR_HEADERS_OVERFLOW: "too_large",
  UND_ERR_RES_EXCEEDED_MAX_SIZE: "too_large",
};

/**
 * Maps a thrown network error (walking its causes) onto the fixed attempt error list. Anything
 * unrecognised happened on an open socket, so it counts as `connection_reset`.
 */
export function classifyNetworkError(err: unknown): AttemptError {
  if (isBlockedAddressError(err)) return "blocked";
  for (let e = err as { code?: string; name?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (e.name === "TimeoutError") return "timeout";
    const code = e.code ?? "";
    if (ERROR_CODES[code]) return ERROR_CODES[code];
    if (code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL") || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return "tls";
    e = e.cause as typeof e;
  }
  return "connection_reset";
}

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character. */
export function excerpt(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= maxBytes) return text;
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the first byte of the character the cut falls in;
  // keep that character only if it ends exactly at the cut.
  let start = end;
  while (start > 0 && (buf[start]! & 0xc0) === 0x80) start--;
  if (start < end) end = start;
  return buf.subarray(0, end).toString("utf8");
}

/**
 * Sends one callback POST. The deadline covers the whole exchange, body included (undici's own
 * timeouts fire late); redirects are never followed (undici's `request` does not follow them). The
 * response body is read up to 20 KiB and dropped; its first 1 KiB is kept.
 */
export async function sendCallback(
  req: CallbackRequest,
  options: { dispatcher: Dispatcher; timeoutMs: number; signal?: AbortSignal; now: () => Date },
): Promise<SendResult> {
  const started = performance.now();
  const limit = deadline(options.timeoutMs, options.signal);
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await request(req.url, {
      method: "POST",
      dispatcher: options.dispatcher,
      signal: limit.signal,
      headers: req.headers,
      body: req.body,
    });
    const { text } = await readBodyCapped(res.body, MAX_RESPONSE_BYTES);
    const statusCode = res.statusCode;
    const ok = statusCode >= 200 && statusCode < 300;
    const result: SendResult = {
      ok,
      statusCode,
      durationMs: elapsed(),
      error: ok ? null : statusCode >= 300 && statusCode < 400 ? "redirect" : "status",
    };
    if (text.length > 0) result.responseExcerpt = excerpt(text, RESPONSE_EXCERPT_BYTES);
    if (ok) return result;
    const retryAfterMs = parseRetryAfterMs(res.headers["retry-after"], options.now());
    if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
    const location = res.headers.location;
    if (result.error === "redirect" && location) result.location = String(location).slice(0, 2048);
    const control = String(res.headers["webhook-delivery"] ?? "").toLowerCase();
    if (control.split(",").some((v) => v.trim() === "abort-message")) result.abortMessage = true;
    return result;
  } catch (err) {
    if (options.signal?.aborted && !limit.timedOut) {
      return { ok: false, statusCode: null, durationMs: elapsed(), error: "connection_reset", aborted: true };
    }
    return { ok: false, statusCode: null, durationMs: elapsed(), error: limit.timedOut ? "timeout" : classifyNetworkError(err) };
  } finally {
    limit.done();
  }
}
