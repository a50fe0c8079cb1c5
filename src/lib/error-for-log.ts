/** Turns whatever was thrown into an Error (graphile-worker's coerceError): catch blocks never deal with `unknown`. */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === "string" ? err : `non-error thrown: ${JSON.stringify(err)}`);
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
