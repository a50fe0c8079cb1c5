import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { AppError, ValidationError, type ErrorCode, type ErrorDetail } from "../errors.js";
import { errorForLog } from "../lib/error-for-log.js";
import { isDatabaseUnavailable } from "../db/connection-loss.js";
import type { Logger } from "../lib/logger.js";

export function errorBody(code: ErrorCode, message: string, details?: ErrorDetail[]) {
  return { error: { code, message, ...(details && details.length > 0 ? { details } : {}) } };
}

/** zod issues → a 400 naming every bad field (`callback_url: …; events.0: …`). */
export function validationErrorFrom(error: ZodError, where?: string): ValidationError {
  const details = error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || where || "body",
    message:
      issue.code === "unrecognized_keys"
        ? `unknown field${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.join(", ")}`
        : issue.message,
  }));
  return new ValidationError(details.map((d) => `${d.path}: ${d.message}`).join("; "), details);
}

const HTTP_CODES: Partial<Record<number, ErrorCode>> = {
  400: "validation_failed",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

/**
 * The one error handler: AppErrors become `{error: {code, message}}` with their status; Hono's own
 * HTTP exceptions (malformed JSON, 415, 413) get the same envelope; an unreachable database is a 503
 * with Retry-After; anything else is logged with its stack and answered with a bare 500 that reveals nothing.
 */
export function createErrorHandler(logger: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof AppError) {
      return c.json(errorBody(err.code, err.message, err.details), err.status);
    }
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      if (status === 400 && /malformed json/i.test(err.message)) {
        return c.json(errorBody("invalid_json", "the request body is not valid JSON"), 400);
      }
      const code = HTTP_CODES[status] ?? (status >= 500 ? "internal_error" : "validation_failed");
      const message =
        status === 415 ? "send the body as JSON with content-type: application/json" : err.message || "request refused";
      return c.json(errorBody(code, message), status >= 500 ? 500 : status);
    }
    if (isDatabaseUnavailable(err)) {
      logger.warn({ path: c.req.path, requestId: c.get("requestId") as string | undefined }, "database unavailable");
      c.header("retry-after", "5");
      return c.json(errorBody("service_unavailable", "the relay's database is not reachable; retry shortly"), 503);
    }
    logger.error(
      { err: errorForLog(err, { stack: true }), path: c.req.path, requestId: c.get("requestId") as string | undefined },
      "unhandled error",
    );
    return c.json(errorBody("internal_error", "internal error"), 500);
  };
}
