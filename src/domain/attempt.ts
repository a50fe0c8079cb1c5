/** Why an attempt failed: a fixed list, stored on the attempt. */
export const ATTEMPT_ERRORS = [
  "timeout",
  "connection_refused",
  "connection_reset",
  "dns",
  "tls",
  "blocked",
  "redirect",
  "too_large",
  "status",
] as const;
export type AttemptError = (typeof ATTEMPT_ERRORS)[number];

/** The outcome of one callback request. Never thrown: network failures are values too. */
export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: AttemptError | null;
  /** `Retry-After` of the answer, in ms from now. */
  retryAfterMs?: number;
  /** Where a 3xx pointed (recorded, never followed). */
  location?: string;
  /** The receiver asked to stop this message (`webhook-delivery: abort-message`). */
  abortMessage?: boolean;
  /** The first 1 KiB of the response body. */
  responseExcerpt?: string;
  /** The request was cut short because the relay is stopping: release the claim, do not count it. */
  aborted?: boolean;
}
