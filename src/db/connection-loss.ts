/** Error codes that mean the database connection went away (postgres.js's own, the socket's, and the server's SQLSTATEs). */
const CONNECTION_LOSS = new Set([
  "CONNECTION_DESTROYED",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "57P01", // admin_shutdown (pg_terminate_backend, a fast shutdown)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up)
]);

/** True for a code of {@link CONNECTION_LOSS} or a SQLSTATE of class 08 (connection exception). */
export function isConnectionLossCode(code: unknown): boolean {
  return typeof code === "string" && (CONNECTION_LOSS.has(code) || code.startsWith("08"));
}

/** True when an error (or one of its causes) says the database cannot be reached right now. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (isConnectionLossCode(e.code)) return true;
    e = e.cause as typeof e;
  }
  return false;
}
