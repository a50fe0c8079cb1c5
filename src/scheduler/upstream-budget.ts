/**
 * UPSTREAM_MAX_RPS as a token bucket for this process's polls. With several relays, each takes an equal
 * share (`share()` says how many are alive). On a 429 the rate halves, then climbs back by 5% of the
 * ceiling per second (AIMD, as TCP does), so the relay finds what Rendley tolerates instead of hammering it.
 */
export interface UpstreamBudget {
  /** How many of `wanted` polls may start now (consumes that many tokens); `wanted` when unlimited. */
  take(wanted: number): number;
  /** Rendley answered 429: slow down. */
  onRateLimited(): void;
  /** The current rate for this process (requests/s); Infinity when unlimited. */
  readonly rate: number;
  readonly limited: boolean;
}

export function createUpstreamBudget(options: {
  maxRps: number | undefined;
  nowMs: () => number;
  /** Relays sharing the budget (≥ 1). */
  share: () => number;
}): UpstreamBudget {
  const { maxRps, nowMs } = options;
  if (!maxRps) {
    return { take: (wanted) => wanted, onRateLimited: () => {}, rate: Infinity, limited: false };
  }
  let factor = 1; // AIMD multiplier of this process's share
  let tokens = 0;
  let at = nowMs();
  let lastCut = -Infinity;
  const ceiling = () => maxRps / Math.max(1, options.share());
  const refill = () => {
    const now = nowMs();
    const elapsedS = Math.max(0, now - at) / 1000;
    at = now;
    factor = Math.min(1, factor + 0.05 * elapsedS);
    const rate = ceiling() * factor;
    // Burst at most one second's worth: a budget is a rate, not a credit.
    tokens = Math.min(Math.max(1, rate), tokens + rate * elapsedS);
  };
  return {
    take(wanted) {
      refill();
      const granted = Math.max(0, Math.min(wanted, Math.floor(tokens)));
      tokens -= granted;
      return granted;
    },
    onRateLimited() {
      const now = nowMs();
      if (now - lastCut < 1000) return; // one cut per second, however many polls saw the same 429 burst
      lastCut = now;
      refill();
      factor = Math.max(0.01, factor / 2);
      tokens = Math.min(tokens, ceiling() * factor);
    },
    get rate() {
      return ceiling() * factor;
    },
    limited: true,
  };
}
