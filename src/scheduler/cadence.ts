import type { Random } from "../lib/random.js";

export interface CadenceOptions {
  /** Floor between two polls of one job (Rendley: no benefit polling faster than once per second). */
  minIntervalMs: number;
  /** Ceiling (Rendley: back off to every 5 to 10 seconds for long renders). */
  maxIntervalMs: number;
}

/** Growth of the interval after each poll that did not finish the job. */
export const BACKOFF_FACTOR = 1.5;
/** Growth after an upstream error (5xx, timeout, garbage): back off faster. */
export const ERROR_BACKOFF_FACTOR = 2;
/** Jitter spreads polls of jobs registered together: ±10% of the interval. */
export const JITTER_RATIO = 0.1;

/** The interval after this one: ×factor, capped at the maximum, never below the minimum. */
export function growInterval(intervalMs: number, cadence: CadenceOptions, factor = BACKOFF_FACTOR): number {
  return clamp(Math.round(intervalMs * factor), cadence.minIntervalMs, cadence.maxIntervalMs);
}

/** The delay before the next poll: the interval with ±10% jitter, never below the minimum nor above the maximum. */
export function jitteredDelayMs(intervalMs: number, cadence: CadenceOptions, random: Random): number {
  const jitter = 1 + (random.float() * 2 - 1) * JITTER_RATIO;
  return clamp(Math.round(intervalMs * jitter), cadence.minIntervalMs, cadence.maxIntervalMs);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
