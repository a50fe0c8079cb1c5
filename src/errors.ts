import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Machine-readable error codes the API answers with (`{"error": {"code", "message"}}`). */
export type ErrorCode =
  | "validation_failed"
  | "invalid_json"
  | "invalid_cursor"
  | "unsupported_media_type"
  | "payload_too_large"
  | "unauthorized"
  | "tenant_disabled"
  | "rate_limited"
  | "not_found"
  | "method_not_allowed"
  | "callback_url_invalid"
  | "callback_url_forbidden"
  | "callback_url_unresolvable"
  | "idempotency_conflict"
  | "watch_finished"
  | "watch_active"
  | "nothing_to_redeliver"
  | "service_unavailable"
  | "upstream_error"
  | "upstream_timeout"
  | "rendley_key_missing"
  | "internal_error";

export interface ErrorDetail {
  path: string;
  message: string;
}

/**
 * An error meant for the API's caller: it carries the HTTP status and a stable `code`.
 * Anything else that reaches the error handler is logged and answered with a bare 500.
 */
export class AppError extends Error {
  override readonly name = "AppError";
  constructor(
    readonly code: ErrorCode,
    readonly status: ContentfulStatusCode,
    message: string,
    readonly details?: ErrorDetail[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super("not_found", 404, `${what} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(code: ErrorCode, message: string) {
    super(code, 409, message);
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: ErrorDetail[], code: ErrorCode = "validation_failed") {
    super(code, 400, message, details);
  }
}

/** Configuration problems: every invalid variable is listed, `main` prints them and exits. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** Turns whatever was thrown into an Error (graphile-worker's coerceError): catch blocks never deal with `unknown`. */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === "string" ? err : `non-error thrown: ${JSON.stringify(err)}`);
}

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
]);

/** True when an error (or one of its causes) says the database cannot be reached right now. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    const code = typeof e.code === "string" ? e.code : "";
    if (UNAVAILABLE_CODES.has(code) || code.startsWith("08")) return true; // 08xxx: connection exceptions
    e = e.cause as typeof e;
  }
  return false;
}

/** What is safe to log about an error: never the bound parameters of a failed query (they carry bodies and callback headers). */
export interface LoggedError {
  message: string;
  code?: string;
  cause?: string;
  stack?: string;
}

/** drizzle's "Failed query: <sql>\nparams: <values>": keep the SQL, drop the values. */
const withoutParams = (text: string) => text.replace(/\nparams:[\s\S]*$/, "\nparams: [not logged]");

/**
 * An error as a log field: message and code (and the cause's), with query parameters removed from
 * every message and stack, so a database error can never put a secret or a callback header in the logs.
 * @param options.stack include stacks (for errors in the relay's own code)
 */
export function errorForLog(err: unknown, options: { stack?: boolean } = {}): LoggedError {
  const error = coerceError(err) as Error & { code?: unknown };
  const out: LoggedError = { message: withoutParams(error.message) };
  if (typeof error.code === "string") out.code = error.code;
  const cause = error.cause as (Error & { code?: unknown }) | undefined;
  if (cause instanceof Error) {
    out.cause = withoutParams(cause.message);
    if (!out.code && typeof cause.code === "string") out.code = cause.code;
  }
  if (options.stack && error.stack) out.stack = withoutParams(error.stack);
  return out;
}
