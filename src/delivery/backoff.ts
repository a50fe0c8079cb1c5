import type { ClaimedDelivery } from "../db/queries/claim-due-deliveries.js";
import type { SendResult } from "./send.js";

/** An attempt as recorded in the log. */
export interface AttemptRecord {
  attempt: number;
  trigger: "scheduled" | "manual";
  at: Date;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

/** How one delivery attempt is written back (batched with others). */
export interface DeliveryAck {
  id: string;
  tenantId: string;
  claimSeq: number;
  /** delivered: acknowledged. retry: pending again at nextAttemptAt. failed: given up. release: the claim is handed back unused. */
  kind: "delivered" | "retry" | "failed" | "release";
  nextAttemptAt: Date | null;
  lastError: string | null;
  attempt: AttemptRecord | null;
}

function describe(result: SendResult): string {
  if (result.error === "status" || result.error === "redirect") return `status ${result.statusCode}`;
  return result.error ?? "unknown";
}

/**
 * Pure: the one place that decides whether a delivery is done, retried (and when) or given up.
 * - 2xx acknowledges; 410 Gone stops at once; a blocked address is never retried.
 * - Anything else waits `scheduleMs[n-1]` after attempt n, until the schedule is used up.
 */
export function decideDelivery(
  claimed: ClaimedDelivery,
  result: SendResult,
  ctx: { now: Date; scheduleMs: readonly number[]; attemptStartedAt: Date },
): DeliveryAck {
  const base = { id: claimed.id, tenantId: claimed.tenantId, claimSeq: claimed.claimSeq };
  if (result.aborted) return { ...base, kind: "release", nextAttemptAt: ctx.now, lastError: null, attempt: null };
  const attempt: AttemptRecord = {
    attempt: claimed.attempt,
    trigger: claimed.trigger,
    at: ctx.attemptStartedAt,
    statusCode: result.statusCode,
    durationMs: result.durationMs,
    error: result.error,
  };
  if (result.ok) return { ...base, kind: "delivered", nextAttemptAt: null, lastError: null, attempt };
  if (result.statusCode === 410) {
    return { ...base, kind: "failed", nextAttemptAt: null, lastError: "gone: the receiver answered 410", attempt };
  }
  if (result.error === "blocked") {
    return { ...base, kind: "failed", nextAttemptAt: null, lastError: "blocked: the callback address is not allowed", attempt };
  }
  const delayMs = ctx.scheduleMs[claimed.seriesAttempt - 1];
  if (delayMs === undefined) {
    return {
      ...base,
      kind: "failed",
      nextAttemptAt: null,
      lastError: `exhausted: ${claimed.seriesAttempt} attempts, last ${describe(result)}`,
      attempt,
    };
  }
  return {
    ...base,
    kind: "retry",
    nextAttemptAt: new Date(ctx.now.getTime() + delayMs),
    lastError: describe(result),
    attempt,
  };
}

/** Hands a claimed delivery back unused, due at `dueAt` (shutdown: now; a crash in the relay's own code: a little later). */
export function releaseDelivery(claimed: ClaimedDelivery, dueAt: Date): DeliveryAck {
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
