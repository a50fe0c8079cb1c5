import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../lib/logger.js";

/** An incoming `x-request-id` is kept only when it is this tame: it ends up in logs and response headers. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Gives every request an id and logs one line per request. The id is the caller's `x-request-id` when sane
 * (1–64 of `A-Z a-z 0-9 . _ -`), else a new UUID; it is set as `requestId` on the context, echoed in the
 * `x-request-id` response header, and logged with the request line (method, path — never the query string: it
 * may carry secrets —, status, duration) and by handlers that log about the request (`c.get("requestId")`).
 * @param logger where the request lines go (the API's child logger)
 * @param options.generate makes a new id (default `crypto.randomUUID`)
 * @example
 * app.use(requestId(logger.child({ component: "api" })));
 */
export function requestId(
  logger: Logger,
  options: { generate?: () => string } = {},
): MiddlewareHandler<{ Variables: { requestId: string } }> {
  const { generate = randomUUID } = options;
  return async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const id = incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : generate();
    c.set("requestId", id);
    c.header("x-request-id", id);
    const started = performance.now();
    try {
      await next();
    } finally {
      logger.info(
        {
          requestId: id,
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          ms: Math.round(performance.now() - started),
        },
        "request",
      );
    }
  };
}
