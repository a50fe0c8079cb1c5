import type { DeliveryOutcome } from "../domain/delivery.js";
import type { SendResult } from "../domain/attempt.js";
import type { PollUpdate } from "../domain/poll.js";
import type { JobFetchResult } from "../upstream/client.js";

/** How a poll went, as the `outcome` label of `rendley_relay_polls_total`. */
export type PollOutcome = "unchanged" | "changed" | "unknown_status" | "not_found" | "rate_limited" | "unauthorized" | "error";

/** Pure: a poll's upstream answer and its write-back → its label (`changed`: the job's status moved, an event was made). */
export function pollOutcome(result: JobFetchResult, ack: PollUpdate | undefined): PollOutcome {
  if (result.kind === "ok") {
    if (ack?.unknownStatus !== undefined) return "unknown_status";
    return ack?.event ? "changed" : "unchanged";
  }
  return result.kind;
}

/** Pure: one callback attempt → `acknowledged`, `http_4xx`, `http_5xx`, or the network error (`timeout`, `connection_refused`, …). */
export function attemptOutcome(result: SendResult): string {
  if (result.ok) return "acknowledged";
  if (result.error === "status" && result.statusCode !== null) {
    return result.statusCode >= 500 ? "http_5xx" : result.statusCode >= 400 ? "http_4xx" : "http_other";
  }
  return result.error ?? "unknown";
}

/**
 * Pure: a delivery's final outcome, or undefined while it is retried: `delivered`, or why it was given up
 * (`gone`: 410 or abort-message, `blocked`, `exhausted`: the retry schedule ran out).
 */
export function finalOutcome(ack: DeliveryOutcome): string | undefined {
  if (ack.kind === "delivered") return "delivered";
  if (ack.kind !== "failed") return undefined;
  const reason = /^(\w+):/.exec(ack.lastError ?? "")?.[1];
  return reason === "gone" || reason === "blocked" || reason === "exhausted" ? reason : "failed";
}
