import type { IncomingMessage, ServerResponse } from "node:http";
import { DEFAULT_MAX_BODY_BYTES } from "./callback-verifier.js";
import { CallbackVerificationError } from "./callback-verification-error.js";
import type { RelayEvent } from "./relay-event.js";
import { verifiersFor, verifyCallback, type CallbackSecrets } from "./verify-callback.js";

/** A Node request, possibly with a body a framework already read (`express.raw()` → Buffer, `express.text()` → string). */
export type NodeCallbackRequest = IncomingMessage & { body?: unknown };

/**
 * Node `http` / Express handler that reads the raw body, verifies the callback and calls `onEvent`.
 * Works as `http.createServer(handler)`, as an Express route handler on its own (it reads the stream),
 * and after `express.raw({ type: "application/json" })` or `express.text(…)` (it uses `req.body`). After
 * `express.json()` the original bytes are gone: it answers 500 `body_already_parsed`.
 * Refusals get `{"error": {"code", "message"}}` with 400, 401 or 413. When `onEvent` resolves without
 * answering, 204 is sent; when it throws, Express's `next(err)` gets the error (or 500 is sent).
 *
 * @param options.secret the `whsec_…` signing secret, or several during a rotation; checked at once
 * @param [options.maxBodyBytes=1048576] larger bodies are answered 413
 * @example
 * http.createServer(nodeCallbackHandler({ secret }, (event, req, res) => {
 *   console.log(event.type, req.headers["webhook-id"]);
 *   res.writeHead(204).end();
 * })).listen(3000);
 */
export function nodeCallbackHandler<
  Req extends NodeCallbackRequest = NodeCallbackRequest,
  Res extends ServerResponse = ServerResponse,
>(
  options: { secret: CallbackSecrets; maxBodyBytes?: number },
  onEvent: (event: RelayEvent, req: Req, res: Res) => void | Promise<void>,
): (req: Req, res: Res, next?: (err?: unknown) => void) => Promise<void> {
  const { secret, maxBodyBytes = DEFAULT_MAX_BODY_BYTES } = options;
  verifiersFor(secret);
  return async (req, res, next) => {
    let event: RelayEvent;
    try {
      event = verifyCallback(await rawBodyOf(req, maxBodyBytes), req.headers, secret);
    } catch (err) {
      if (!(err instanceof CallbackVerificationError)) return fail(err, res, next);
      if (!res.headersSent) {
        if (err.code === "body_too_large") res.setHeader("connection", "close");
        res.writeHead(err.status, { "content-type": "application/json" }).end(JSON.stringify(err.toJSON()));
      }
      return;
    }
    try {
      await onEvent(event, req, res);
    } catch (err) {
      return fail(err, res, next);
    }
    if (!res.headersSent && !res.writableEnded) res.writeHead(204).end();
  };
}

function fail(err: unknown, res: ServerResponse, next?: (err?: unknown) => void): void {
  if (next) return next(err);
  if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
  if (!res.writableEnded) res.end(JSON.stringify({ error: { code: "internal_error", message: "the callback handler failed" } }));
}

async function rawBodyOf(req: NodeCallbackRequest, maxBodyBytes: number): Promise<string | Uint8Array> {
  if (typeof req.body === "string" || req.body instanceof Uint8Array) return req.body;
  if (req.readableEnded) {
    throw new CallbackVerificationError(
      "body_already_parsed",
      'the request body was already read and parsed: use express.raw({ type: "application/json" }) on this route, not express.json()',
    );
  }
  const tooLarge = () => new CallbackVerificationError("body_too_large", `the body is over ${maxBodyBytes} bytes`);
  if (Number(req.headers["content-length"]) > maxBodyBytes) {
    req.resume();
    throw tooLarge();
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) return void chunks.push(chunk);
      // Stop keeping the bytes but let the stream drain: destroying it would take the socket (and our 413) with it.
      req.off("data", onData).resume();
      reject(tooLarge());
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}
