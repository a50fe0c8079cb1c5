import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError } from "../errors.js";

/** An oversized body this small is read and dropped before the 413, so the client sees the answer. */
const DRAIN_MAX_BYTES = 4 * 1024 * 1024;
const DRAIN_MAX_MS = 2_000;

async function drain(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  const deadline = Date.now() + DRAIN_MAX_MS;
  let read = 0;
  try {
    while (read <= DRAIN_MAX_BYTES && Date.now() < deadline) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Request bodies up to `maxBytes`, else `413 payload_too_large`. A client that announced a larger body
 * is still sending it when the answer is ready: answering and closing at once races its upload (it may
 * see a reset instead of the 413), so up to 4 MiB are read and dropped first, and the connection closes.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => new AppError("payload_too_large", 413, `the body is larger than ${maxBytes} bytes`);
  const streaming = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async (c, next) => {
    const declared = Number(c.req.header("content-length"));
    if (Number.isFinite(declared) && declared > maxBytes) {
      await drain(c.req.raw.body).catch(() => {});
      c.header("connection", "close");
      throw tooLarge();
    }
    return streaming(c, next);
  };
}
