import type { AttemptHealth, BreakerState, OriginSnapshot } from "../domain/breaker.js";

export interface Admission {
  run: boolean;
  /** This delivery is the breaker's probe: pass `probe: true` back to `finish`. */
  probe?: boolean;
  /** When `run` is false: when the delivery may be tried again. */
  retryAt?: Date;
}

interface Breaker extends OriginSnapshot {
  probeInFlight: boolean;
}

/**
 * Fairness and receiver health for callbacks, per process:
 * - at most `perOriginConcurrency` requests in flight per origin (scheme://host:port), so one slow or dead
 *   receiver cannot take every DELIVERY_CONCURRENCY slot;
 * - a circuit breaker per (tenant, origin): after `threshold` consecutive failures the origin is paused for
 *   `cooldownMs`, then exactly one probe goes; its success closes the breaker, its failure opens it again.
 * Pure bookkeeping in memory; the delivery worker persists the transitions and defers paused deliveries.
 */
export function createOriginGate(options: { perOriginConcurrency: number; threshold: number; cooldownMs: number }) {
  const inFlight = new Map<string, number>();
  const breakers = new Map<string, Breaker>();
  const dirty = new Set<string>();
  const opened: OriginSnapshot[] = [];

  const keyOf = (tenantId: string, origin: string) => `${tenantId} ${origin}`;
  const breakerOf = (tenantId: string, origin: string): Breaker => {
    const key = keyOf(tenantId, origin);
    let b = breakers.get(key);
    if (!b) {
      b = {
        tenantId,
        origin,
        state: "closed",
        consecutiveFailures: 0,
        openedAt: null,
        openUntil: null,
        lastSuccessAt: null,
        lastFailureAt: null,
        probeInFlight: false,
      };
      breakers.set(key, b);
    }
    return b;
  };
  const open = (b: Breaker, now: Date) => {
    b.state = "open";
    b.openedAt = now;
    b.openUntil = new Date(now.getTime() + options.cooldownMs);
    opened.push(snapshot(b));
  };
  const snapshot = ({ probeInFlight: _, ...rest }: Breaker): OriginSnapshot => ({ ...rest });

  return {
    /** Origins at their concurrency cap: the next claim skips them. */
    fullOrigins(): string[] {
      return [...inFlight].filter(([, n]) => n >= options.perOriginConcurrency).map(([origin]) => origin);
    },

    /** How many more requests to `origin` may start now. */
    room(origin: string): number {
      return options.perOriginConcurrency - (inFlight.get(origin) ?? 0);
    },

    /** `<tenant> <origin>` pairs whose breaker holds deliveries back right now. */
    pausedPairs(now: Date): string[] {
      const out: string[] = [];
      for (const [key, b] of breakers) {
        if (b.state === "closed") continue;
        if (b.probeInFlight || (b.state === "open" && b.openUntil && now < b.openUntil)) out.push(key);
      }
      return out;
    },

    /** Decides whether a claimed delivery may be sent now; counts it in flight when it may. */
    admit(tenantId: string, origin: string, now: Date): Admission {
      if ((inFlight.get(origin) ?? 0) >= options.perOriginConcurrency) return { run: false, retryAt: now };
      const b = breakers.get(keyOf(tenantId, origin));
      let probe = false;
      if (b && b.state !== "closed") {
        if (b.state === "open" && b.openUntil && now < b.openUntil) return { run: false, retryAt: b.openUntil };
        if (b.probeInFlight) return { run: false, retryAt: now };
        // Cool-down over: this one delivery is the probe.
        b.state = "half_open";
        b.probeInFlight = true;
        probe = true;
        dirty.add(keyOf(tenantId, origin));
      }
      inFlight.set(origin, (inFlight.get(origin) ?? 0) + 1);
      return probe ? { run: true, probe } : { run: true };
    },

    /**
     * Records how an admitted delivery went. Only the probe (`probe: true`, as `admit` said) decides a
     * paused breaker; a request that was already in flight when the breaker opened only leaves its timestamps.
     */
    finish(tenantId: string, origin: string, health: AttemptHealth, now: Date, probe = false): void {
      const n = (inFlight.get(origin) ?? 1) - 1;
      if (n <= 0) inFlight.delete(origin);
      else inFlight.set(origin, n);
      const key = keyOf(tenantId, origin);
      if (health === "neutral") {
        const b = breakers.get(key);
        if (b && probe) b.probeInFlight = false; // the pause is over; the next admitted delivery probes
        return;
      }
      const b = breakerOf(tenantId, origin);
      if (health === "success") b.lastSuccessAt = now;
      else b.lastFailureAt = now;
      if (b.state !== "closed" && !probe) {
        dirty.add(key);
        return;
      }
      if (probe) b.probeInFlight = false;
      if (health === "success") {
        if (b.consecutiveFailures > 0 || b.state !== "closed") dirty.add(key);
        b.consecutiveFailures = 0;
        b.state = "closed";
        b.openedAt = null;
        b.openUntil = null;
        return;
      }
      b.consecutiveFailures++;
      dirty.add(key);
      if (probe || b.consecutiveFailures >= options.threshold) open(b, now);
    },

    /** Every breaker's origin and state, read by the metrics at scrape time. */
    states(): { origin: string; state: BreakerState }[] {
      return [...breakers.values()].map(({ origin, state }) => ({ origin, state }));
    },

    /** Breakers that changed since the last call (to persist), and the ones that opened (to defer their deliveries). */
    takeChanges(): { changed: OriginSnapshot[]; opened: OriginSnapshot[] } {
      const changed = [...dirty].flatMap((key) => {
        const b = breakers.get(key);
        return b ? [snapshot(b)] : [];
      });
      dirty.clear();
      return { changed, opened: opened.splice(0) };
    },
  };
}

export type OriginGate = ReturnType<typeof createOriginGate>;
