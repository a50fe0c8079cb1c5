/** Circuit breaker states, as shown by GET /v1/origins. */
export const BREAKER_STATES = ["closed", "open", "half_open"] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

/** One (tenant, origin) breaker as persisted for GET /v1/origins. */
export interface OriginSnapshot {
  tenantId: string;
  origin: string;
  state: BreakerState;
  consecutiveFailures: number;
  openedAt: Date | null;
  openUntil: Date | null;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
}

/** What happened to an attempt, as far as the receiver's health goes. */
export type AttemptHealth = "success" | "failure" | "neutral";
