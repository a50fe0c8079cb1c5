import type { ClaimedDelivery, AttemptRecord, DeliveryOutcome } from "../domain/delivery.js";
import type { Random } from "../lib/random.js";
import type { SendResult } from "../domain/attempt.js";

/** Each scheduled delay is spread by ±20% so receivers that failed together are not retried together. */
export const RETRY_JITTER_RATIO = 0.2;
/** A timeout or a 429 waits at least this long, unless the whole schedule is shorter (test schedules). */
export const SLOW_DOWN_FLOOR_MS = 60_000;

function describe(result: SendResult): string {
  if (result.error === "status" || result.error === "redirect") return `status ${result.statusCode}`;
  return result.error ?? "unknown";
}

/**
 * The delay before the next attempt after attempt `seriesAttempt` failed, or undefined when the schedule
 * is used up:
 * - the scheduled delay ±20% jitter;
 * - `429`/`503` with `Retry-After`: that, clamped between the scheduled delay and twice it;
 * - a timeout or a `429`: at least SLOW_DOWN_FLOOR_MS, or the schedule's longest delay if that is shorter.
 */
export function retryDelayMs(
  result: SendResult,
  seriesAttempt: number,
  scheduleMs: readonly number[],
  random: Random,
): number | undefined {
  const scheduled = scheduleMs[seriesAttempt - 1];
  if (scheduled === undefined) return undefined;
  let delay = Math.round(scheduled * (1 + (random.float() * 2 - 1) * RETRY_JITTER_RATIO));
  if ((result.statusCode === 429 || result.statusCode === 503) && result.retryAfterMs !== undefined) {
    delay = Math.min(2 * scheduled, Math.max(scheduled, result.retryAfterMs));
  }
  if (result.error === "timeout" || result.statusCode === 429) {
    delay = Math.max(delay, Math.min(SLOW_DOWN_FLOOR_MS, Math.max(...scheduleMs)));
  }
  return delay;
}

/**
 * Pure: the one place that decides whether a delivery is done, retried (and when) or given up.
 * - 2xx acknowledges; nothing else does (3xx is a failure, never followed).
 * - 410 Gone, `webhook-delivery: abort-message` and a blocked address end the delivery at once.
 * - Anything else is retried on the watch's schedule (or DELIVERY_RETRY_SCHEDULE) until it is used up.
 */
export function decideDelivery(
  claimed: ClaimedDelivery,
  result: SendResult,
  ctx: { now: Date; scheduleMs: readonly number[]; attemptStartedAt: Date; random: Random },
): DeliveryOutcome {
  const base = { id: claimed.id, tenantId: claimed.tenantId, claimSeq: claimed.claimSeq };
  if (result.aborted) return { ...base, kind: "release", nextAttemptAt: ctx.now, lastError: null, attempt: null };
  const attempt: AttemptRecord = {
    attempt: claimed.attempt,
    trigger: claimed.trigger,
    at: ctx.attemptStartedAt,
    statusCode: result.statusCode,
    durationMs: result.durationMs,
    error: result.error,
    responseExcerpt: result.responseExcerpt ?? null,
    location: result.location ?? null,
  };
  const failed = (lastError: string): DeliveryOutcome => ({ ...base, kind: "failed", nextAttemptAt: null, lastError, attempt });
  if (result.ok) return { ...base, kind: "delivered", nextAttemptAt: null, lastError: null, attempt };
  if (result.statusCode === 410) return failed("gone: the receiver answered 410");
  if (result.abortMessage) return failed("gone: the receiver answered webhook-delivery: abort-message");
  if (result.error === "blocked") return failed("blocked: the callback address is not allowed");
  const schedule = claimed.retryScheduleMs ?? ctx.scheduleMs;
  const delayMs = retryDelayMs(result, claimed.seriesAttempt, schedule, ctx.random);
  if (delayMs === undefined) return failed(`exhausted: ${claimed.seriesAttempt} attempts, last ${describe(result)}`);
  return { ...base, kind: "retry", nextAttemptAt: new Date(ctx.now.getTime() + delayMs), lastError: describe(result), attempt };
}

/** Hands a claimed delivery back unused, due at `dueAt` (shutdown: now; a crash in the relay's own code: a little later). */
export function releaseDelivery(claimed: ClaimedDelivery, dueAt: Date): DeliveryOutcome {
  return {
    id: claimed.id,
    tenantId: claimed.tenantId,
    claimSeq: claimed.claimSeq,
    kind: "release",
    nextAttemptAt: dueAt,
    lastError: null,
    attempt: null,
  };
}
