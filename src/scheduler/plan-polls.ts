import { normalPdf, normalTail } from "../lib/normal.js";
import type { Random } from "../lib/random.js";
import { BACKOFF_FACTOR, JITTER_RATIO, type CadenceOptions } from "./cadence.js";
import type { DurationModel } from "../domain/type-stats.js";

/** Plans hold at most this many polls; past their end the claim backs off ×1.5 to the maximum. */
export const MAX_PLAN_LENGTH = 48;
/** A plan ends once the job is this unlikely to still be running. */
const TAIL = 1e-3;

/** P(T > t). */
export function survival(model: DurationModel, tMs: number): number {
  if (tMs <= 0) return 1;
  return normalTail((Math.log(tMs) - model.meanLog) / model.sdLog);
}

/** The density of T at t (per ms). */
export function density(model: DurationModel, tMs: number): number {
  if (tMs <= 0) return 0;
  return normalPdf((Math.log(tMs) - model.meanLog) / model.sdLog) / (tMs * model.sdLog);
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const jittered = (ms: number, cadence: CadenceOptions, random: Random) =>
  Math.round(clamp(ms * (1 + (random.float() * 2 - 1) * JITTER_RATIO), cadence.minIntervalMs, cadence.maxIntervalMs));

/**
 * Plain backoff from now (`elapsedMs` after the job was first watched): the minimum interval, then ×1.5
 * up to the maximum, each with ±10% jitter that never goes below the minimum. Offsets are from the start.
 */
export function backoffPlan(elapsedMs: number, cadence: CadenceOptions, random: Random, length = MAX_PLAN_LENGTH): number[] {
  const plan: number[] = [];
  let interval = cadence.minIntervalMs;
  let at = elapsedMs;
  while (plan.length < length) {
    at += jittered(interval, cadence, random);
    plan.push(at);
    interval = Math.min(cadence.maxIntervalMs, interval * BACKOFF_FACTOR);
  }
  return plan;
}

/**
 * Expected number of polls still to come for a job running at `elapsedMs` (conditional on T > elapsed):
 * the poll at offset k happens when the job had not finished by the poll before it. Past the plan's end the
 * maximum interval is assumed.
 */
export function expectedPolls(plan: readonly number[], model: DurationModel, elapsedMs: number, maxIntervalMs: number): number {
  const s0 = survival(model, elapsedMs);
  if (s0 <= 0) return 1;
  let expected = 0;
  let prev = elapsedMs;
  for (const at of plan) {
    const s = survival(model, prev) / s0;
    expected += s;
    if (s < TAIL) return expected;
    prev = at;
  }
  for (let k = 0; k < 10_000; k++) {
    const s = survival(model, prev) / s0;
    expected += s;
    if (s < TAIL) break;
    prev += maxIntervalMs;
  }
  return expected;
}

/** Polls spaced h(t) = c / sqrt(f(t)): dense where completion is likely, sparse where it is not (clamped to the cadence). */
function spacedPlan(c: number, elapsedMs: number, model: DurationModel, cadence: CadenceOptions): number[] {
  const plan: number[] = [];
  const s0 = survival(model, elapsedMs);
  let at = elapsedMs;
  // Measured on the default mix (bench): longer intervals where completion is unlikely, or spacing ∝ f^-0.75
  // or f^-1, did not lower the median delay further and raised the p99; 1/√f within the cadence did best.
  const step = (f: number) =>
    clamp(f > 0 ? c / Math.sqrt(f) : cadence.maxIntervalMs, cadence.minIntervalMs, cadence.maxIntervalMs);
  while (plan.length < MAX_PLAN_LENGTH) {
    // Judge an interval by the highest density inside it, not at its start: a step from a quiet region
    // must not leap over the mode (a short job polled first at t = 0, where f is 0).
    let h = step(density(model, at));
    for (let i = 0; i < 3; i++) {
      let f = 0;
      for (let k = 0; k <= 4; k++) f = Math.max(f, density(model, at + (h * k) / 4));
      h = Math.min(h, step(f));
    }
    at += h;
    plan.push(at);
    if (survival(model, at) / s0 < TAIL) break;
  }
  return plan;
}

/**
 * Predictive polling. For a sampling budget, spacing polls in proportion to 1/√f(t) minimises the expected
 * delay between completion and the poll that sees it (f: the completion-time density). The constant is
 * chosen so the expected number of polls equals plain backoff's for the same job, so the gain is latency,
 * not a bigger bill. Intervals stay within the cadence: never under the 1 s floor, never over the maximum
 * (so the slowest case is no worse than backoff's).
 */
export function predictivePlan(elapsedMs: number, model: DurationModel, cadence: CadenceOptions, random: Random): number[] {
  const budget = expectedPolls(
    backoffPlan(elapsedMs, cadence, { float: () => 0.5, bytes: random.bytes }),
    model,
    elapsedMs,
    cadence.maxIntervalMs,
  );
  let lo = 1e-4;
  let hi = 1e6;
  for (let i = 0; i < 40; i++) {
    const mid = Math.sqrt(lo * hi);
    const cost = expectedPolls(spacedPlan(mid, elapsedMs, model, cadence), model, elapsedMs, cadence.maxIntervalMs);
    if (cost > budget) lo = mid;
    else hi = mid;
  }
  // Jitter each interval (never under the floor) so jobs that started together do not poll together.
  const plan = spacedPlan(hi, elapsedMs, model, cadence);
  let prev = elapsedMs;
  let shifted = elapsedMs;
  return plan.map((at) => {
    shifted += jittered(at - prev, cadence, random);
    prev = at;
    return shifted;
  });
}
