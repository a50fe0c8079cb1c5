import type { MiddlewareHandler } from "hono";
import { CallbackVerificationError } from "./callback-verification-error.js";
import type { RelayEvent } from "./relay-event.js";
import { verifiersFor, verifyCallback, type CallbackSecrets } from "./verify-callback.js";

/** Relay callbacks stay under 256 KiB; anything much larger is not one. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** What `callbackVerifier` adds to the context: `c.get("relayEvent")`. */
export type CallbackVerifierEnv = { Variables: { relayEvent: RelayEvent } };

/**
 * Hono middleware that verifies a relay callback on the raw body and sets `c.get("relayEvent")`.
 * Refusals are answered here with `{"error": {"code", "message"}}`: 400 (missing_headers, invalid_headers,
 * invalid_body), 401 (bad_signature, timestamp_too_old, timestamp_too_new), 413 (body_too_large).
 *
 * @param options.secret the `whsec_…` signing secret, or several during a rotation; checked at once
 *   (a malformed secret throws CallbackVerificationError `invalid_secret` here, not on the first callback)
 * @param [options.maxBodyBytes=1048576] larger bodies are answered 413 unread (when Content-Length says so)
 * @example
 * app.post("/hooks/rendley", callbackVerifier({ secret }), (c) => {
 *   const event = c.get("relayEvent");
 *   return c.body(null, 204);
 * });
 */
export function callbackVerifier(options: {
  secret: CallbackSecrets;
  maxBodyBytes?: number;
}): MiddlewareHandler<CallbackVerifierEnv> {
  const { secret, maxBodyBytes = DEFAULT_MAX_BODY_BYTES } = options;
  verifiersFor(secret);
  return async (c, next) => {
    let event: RelayEvent;
    try {
      const length = Number(c.req.header("content-length"));
      if (length > maxBodyBytes) throw new CallbackVerificationError("body_too_large", `the body is over ${maxBodyBytes} bytes`);
      const body = await c.req.text(); // cached by Hono: later c.req.json() still works
      if (body.length > maxBodyBytes)
        throw new CallbackVerificationError("body_too_large", `the body is over ${maxBodyBytes} bytes`);
      event = verifyCallback(body, c.req.raw.headers, secret);
    } catch (err) {
      if (err instanceof CallbackVerificationError) return c.json(err.toJSON(), err.status);
      throw err;
    }
    c.set("relayEvent", event);
    await next();
  };
}
