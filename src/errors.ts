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
  | "unknown_action"
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
