import { describe, expect, it } from "vitest";
import { createSeededRandom, type Random } from "../../../src/lib/random.js";
import type { CadenceOptions } from "../../../src/scheduler/cadence.js";
import {
  MAX_PLAN_LENGTH,
  backoffPlan,
  density,
  expectedPolls,
  predictivePlan,
  survival,
} from "../../../src/scheduler/plan-polls.js";
import { type DurationModel } from "../../../src/domain/type-stats.js";

const cadence: CadenceOptions = { minIntervalMs: 1_000, maxIntervalMs: 10_000 };
const fixed = (value: number): Random => ({ float: () => value, bytes: (n) => Buffer.alloc(n) });
/** float 0.5 → no jitter. */
const noJitter = fixed(0.5);
const model = (medianMs: number, sdLog: number): DurationModel => ({ meanLog: Math.log(medianMs), sdLog });

/** The three job types the plans are judged on. */
const MODELS: [string, DurationModel][] = [
  ["median 8 s, σ 0.4", model(8_000, 0.4)],
  ["median 20 s, σ 0.3", model(20_000, 0.3)],
  ["median 60 s, σ 0.6", model(60_000, 0.6)],
];
/** The same, plus a job already running for a while (mid-job replans). */
const CASES: [string, DurationModel, number][] = [
  ...MODELS.map(([name, m]): [string, DurationModel, number] => [name, m, 0]),
  ["median 20 s, σ 0.3, 15 s in", model(20_000, 0.3), 15_000],
  ["median 60 s, σ 0.6, 60 s in", model(60_000, 0.6), 60_000],
  ["median 8 s, σ 0.4, 12 s in", model(8_000, 0.4), 12_000],
];

const gaps = (plan: readonly number[], from: number) => plan.map((at, i) => at - (i === 0 ? from : plan[i - 1]!));

/** Standard normal (Box–Muller) from a seeded generator. */
function normal(random: Random): number {
  const u = 1 - random.float(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.float());
}

/** A completion time drawn from the model, conditional on the job still running at `afterMs`. */
function sampleDuration(m: DurationModel, random: Random, afterMs = 0): number {
  for (;;) {
    const t = Math.exp(m.meanLog + m.sdLog * normal(random));
    if (t > afterMs) return t;
  }
}

/** The poll that sees a job finishing at `t`: the first planned offset ≥ t, then the maximum interval past the plan. */
function seenBy(plan: readonly number[], t: number, maxIntervalMs: number): { at: number; polls: number } {
  let lo = 0;
  let hi = plan.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (plan[mid]! >= t) hi = mid;
    else lo = mid + 1;
  }
  if (lo < plan.length) return { at: plan[lo]!, polls: lo + 1 };
  const last = plan[plan.length - 1]!;
  const extra = Math.ceil((t - last) / maxIntervalMs);
  return { at: last + extra * maxIntervalMs, polls: plan.length + extra };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** The p-quantile of an ascending list. */
const quantile = (sorted: readonly number[], p: number) => sorted[Math.floor(p * (sorted.length - 1))]!;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("survival", () => {
  it.each(MODELS)("%s: 0.5 at the median", (_name, m) => {
    expect(survival(m, Math.exp(m.meanLog))).toBeCloseTo(0.5, 7);
  });

  // Φ from tables: survival at exp(μ + zσ) is 1 − Φ(z).
  it.each<[number, number]>([
    [-3, 0.9986501019683699],
    [-2, 0.9772498680518208],
    [-1, 0.8413447460685429],
    [-0.5, 0.6914624612740131],
    [0.5, 0.3085375387259869],
    [1, 0.15865525393145707],
    [2, 0.022750131948179195],
    [3, 0.0013498980316301035],
  ])("at z = %d: %d", (z, expected) => {
    for (const [, m] of MODELS) expect(Math.abs(survival(m, Math.exp(m.meanLog + z * m.sdLog)) - expected)).toBeLessThan(2e-7);
  });

  it("is 1 at or before the start, and decreasing", () => {
    const m = model(20_000, 0.3);
    expect(survival(m, 0)).toBe(1);
    expect(survival(m, -1_000)).toBe(1);
    let prev = 1;
    for (let t = 1_000; t <= 100_000; t += 1_000) {
      const s = survival(m, t);
      expect(s).toBeLessThanOrEqual(prev);
      expect(s).toBeGreaterThanOrEqual(0);
      prev = s;
    }
    expect(prev).toBeLessThan(1e-6);
  });
});

describe("density", () => {
  it.each(MODELS)("%s: matches −dS/dt (central difference)", (_name, m) => {
    for (let z = -3; z <= 3; z += 0.25) {
      const t = Math.exp(m.meanLog + z * m.sdLog);
      const h = t * 1e-3;
      const numeric = (survival(m, t - h) - survival(m, t + h)) / (2 * h);
      expect(Math.abs(density(m, t) - numeric) / density(m, t)).toBeLessThan(1e-3);
    }
  });

  it.each(MODELS)("%s: peaks at the mode exp(μ − σ²) with the known height, integrates to 1", (_name, m) => {
    const mode = Math.exp(m.meanLog - m.sdLog ** 2);
    const height = Math.exp(-m.meanLog + m.sdLog ** 2 / 2) / (m.sdLog * Math.sqrt(2 * Math.PI));
    expect(density(m, mode) / height).toBeCloseTo(1, 10);
    expect(density(m, mode * 0.98)).toBeLessThan(density(m, mode));
    expect(density(m, mode * 1.02)).toBeLessThan(density(m, mode));
    // Trapezoid over ±8σ in log space (dt = t d ln t).
    let integral = 0;
    const steps = 4_000;
    const lo = m.meanLog - 8 * m.sdLog;
    const du = (16 * m.sdLog) / steps;
    for (let i = 0; i <= steps; i++) {
      const t = Math.exp(lo + i * du);
      integral += density(m, t) * t * du * (i === 0 || i === steps ? 0.5 : 1);
    }
    expect(integral).toBeCloseTo(1, 6);
  });

  it("is 0 at or before the start", () => {
    expect(density(model(8_000, 0.4), 0)).toBe(0);
    expect(density(model(8_000, 0.4), -5)).toBe(0);
  });
});

describe("backoffPlan", () => {
  it("without jitter: the minimum, then ×1.5 up to the maximum, as offsets from the start", () => {
    expect(backoffPlan(0, cadence, noJitter, 9)).toEqual([1_000, 2_500, 4_750, 8_125, 13_188, 20_782, 30_782, 40_782, 50_782]);
    expect(gaps(backoffPlan(0, cadence, noJitter, 9), 0)).toEqual([
      1_000, 1_500, 2_250, 3_375, 5_063, 7_594, 10_000, 10_000, 10_000,
    ]);
  });

  it("starts from the elapsed time", () => {
    expect(backoffPlan(42_000, cadence, noJitter, 4)).toEqual([43_000, 44_500, 46_750, 50_125]);
  });

  it("holds MAX_PLAN_LENGTH polls by default, or the length asked", () => {
    expect(backoffPlan(0, cadence, noJitter)).toHaveLength(MAX_PLAN_LENGTH);
    expect(backoffPlan(0, cadence, noJitter, 3)).toHaveLength(3);
    expect(backoffPlan(0, cadence, noJitter, 0)).toEqual([]);
  });

  it("jitter at its extremes: −10% never under the minimum, +10% never over the maximum", () => {
    expect(gaps(backoffPlan(0, cadence, fixed(0), 8), 0)).toEqual([1_000, 1_350, 2_025, 3_038, 4_556, 6_834, 9_000, 9_000]);
    expect(gaps(backoffPlan(0, cadence, fixed(1 - 1e-12), 8), 0)).toEqual([
      1_100, 1_650, 2_475, 3_712, 5_569, 8_353, 10_000, 10_000,
    ]);
  });

  it.each([1, 2, 3, 99])("seed %i: every gap within ±10% of the ×1.5 interval and within [min, max]", (seed) => {
    const elapsed = 5_000;
    const plan = backoffPlan(elapsed, cadence, createSeededRandom(seed));
    const spread: number[] = [];
    gaps(plan, elapsed).forEach((gap, k) => {
      const nominal = Math.min(cadence.maxIntervalMs, cadence.minIntervalMs * 1.5 ** k);
      expect(gap).toBeGreaterThanOrEqual(Math.max(cadence.minIntervalMs, Math.round(nominal * 0.9)));
      expect(gap).toBeLessThanOrEqual(Math.min(cadence.maxIntervalMs, Math.round(nominal * 1.1)));
      expect(Number.isInteger(gap)).toBe(true);
      spread.push(gap / nominal);
    });
    expect(new Set(spread).size).toBeGreaterThan(10); // actually jittered
  });

  it("a cadence with min = max polls at that interval", () => {
    expect(gaps(backoffPlan(0, { minIntervalMs: 3_000, maxIntervalMs: 3_000 }, createSeededRandom(1), 10), 0)).toEqual(
      Array(10).fill(3_000),
    );
  });
});

describe("expectedPolls", () => {
  /** Monte-Carlo mean number of polls until one sees the job finish. */
  function simulatedPolls(plan: readonly number[], m: DurationModel, elapsedMs: number, random: Random, n = 40_000): number {
    let total = 0;
    for (let i = 0; i < n; i++) total += seenBy(plan, sampleDuration(m, random, elapsedMs), cadence.maxIntervalMs).polls;
    return total / n;
  }

  it.each(CASES)("%s: matches a Monte-Carlo estimate within 2%", (_name, m, elapsed) => {
    const random = createSeededRandom(11);
    for (const plan of [
      backoffPlan(elapsed, cadence, random),
      predictivePlan(elapsed, m, cadence, random),
      backoffPlan(elapsed, cadence, random, 4),
    ]) {
      const exact = expectedPolls(plan, m, elapsed, cadence.maxIntervalMs);
      const simulated = simulatedPolls(plan, m, elapsed, random);
      expect(Math.abs(exact / simulated - 1)).toBeLessThan(0.02);
    }
  });

  it("past the plan's end, assumes the maximum interval", () => {
    const m = model(60_000, 0.6);
    const short = backoffPlan(0, cadence, noJitter, 5);
    const extended = [...short, ...range(40).map((i) => short[4]! + (i + 1) * cadence.maxIntervalMs)];
    expect(expectedPolls(short, m, 0, cadence.maxIntervalMs)).toBeCloseTo(
      expectedPolls(extended, m, 0, cadence.maxIntervalMs),
      10,
    );
  });

  it("the first poll always happens; a job surely done by then costs one", () => {
    expect(expectedPolls([1_000, 2_000], model(10, 0.1), 0, cadence.maxIntervalMs)).toBeCloseTo(1, 10);
    expect(expectedPolls([], model(10, 0.1), 0, cadence.maxIntervalMs)).toBeCloseTo(1, 10);
    // A job that cannot still be running (survival 0 at elapsed) counts one.
    expect(expectedPolls([1e12 + 1_000], model(1_000, 0.1), 1e12, cadence.maxIntervalMs)).toBe(1);
  });
});

describe("predictivePlan", () => {
  const SEEDS = range(20);

  it.each(CASES)("%s: ascending, every gap within [min, max], at most MAX_PLAN_LENGTH", (_name, m, elapsed) => {
    for (const seed of SEEDS.slice(0, 5)) {
      const plan = predictivePlan(elapsed, m, cadence, createSeededRandom(seed));
      expect(plan.length).toBeGreaterThan(0);
      expect(plan.length).toBeLessThanOrEqual(MAX_PLAN_LENGTH);
      for (const gap of gaps(plan, elapsed)) {
        expect(gap).toBeGreaterThanOrEqual(cadence.minIntervalMs);
        expect(gap).toBeLessThanOrEqual(cadence.maxIntervalMs);
        expect(Number.isInteger(gap)).toBe(true);
      }
    }
  });

  it.each(CASES)("%s: jitter ±10% around the unjittered plan, never under the minimum", (_name, m, elapsed) => {
    const skeleton = gaps(predictivePlan(elapsed, m, cadence, noJitter), elapsed);
    for (const random of [fixed(0), fixed(1 - 1e-12), createSeededRandom(5)]) {
      const jittered = gaps(predictivePlan(elapsed, m, cadence, random), elapsed);
      expect(jittered).toHaveLength(skeleton.length);
      jittered.forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(Math.max(cadence.minIntervalMs, Math.floor(skeleton[i]! * 0.9) - 1));
        expect(gap).toBeLessThanOrEqual(Math.min(cadence.maxIntervalMs, Math.ceil(skeleton[i]! * 1.1) + 1));
      });
    }
    expect(predictivePlan(elapsed, m, cadence, createSeededRandom(1))).toEqual(
      predictivePlan(elapsed, m, cadence, createSeededRandom(1)),
    );
    expect(predictivePlan(elapsed, m, cadence, createSeededRandom(1))).not.toEqual(
      predictivePlan(elapsed, m, cadence, createSeededRandom(2)),
    );
  });

  it.each(CASES)("%s: expected polls no more than plain backoff's (+1%)", (_name, m, elapsed) => {
    const cost = (plan: number[]) => expectedPolls(plan, m, elapsed, cadence.maxIntervalMs);
    // Unjittered: the constant is chosen to spend exactly backoff's budget.
    const budget = cost(backoffPlan(elapsed, cadence, noJitter));
    expect(cost(predictivePlan(elapsed, m, cadence, noJitter)) / budget).toBeGreaterThan(0.99);
    expect(cost(predictivePlan(elapsed, m, cadence, noJitter)) / budget).toBeLessThan(1.001);
    // Jittered, as run: averaged over seeds, against backoff jittered the same way.
    const predictive = mean(SEEDS.map((s) => cost(predictivePlan(elapsed, m, cadence, createSeededRandom(s)))));
    const backoff = mean(SEEDS.map((s) => cost(backoffPlan(elapsed, cadence, createSeededRandom(s)))));
    expect(predictive).toBeLessThanOrEqual(backoff * 1.01);
  });

  it("a job long past its model's tail is polled at the maximum interval", () => {
    const elapsed = 3_600_000;
    const plan = predictivePlan(elapsed, model(8_000, 0.4), cadence, createSeededRandom(3));
    expect(plan.length).toBeGreaterThan(0);
    for (const gap of gaps(plan, elapsed)) expect(gap).toBeGreaterThanOrEqual(cadence.maxIntervalMs * 0.9);
  });

  it("notifies sooner than plain backoff: lower median delay for each model (Monte-Carlo)", () => {
    const rows: Record<string, string | number>[] = [];
    for (const [name, m] of MODELS) {
      const PLANS = 40;
      const predictive = range(PLANS).map((i) => predictivePlan(0, m, cadence, createSeededRandom(1_000 + i)));
      const backoff = range(PLANS).map((i) => backoffPlan(0, cadence, createSeededRandom(2_000 + i)));
      const random = createSeededRandom(42);
      const delays = { predictive: [] as number[], backoff: [] as number[] };
      const polls = { predictive: 0, backoff: 0 };
      const jobs = 20_000;
      for (let j = 0; j < jobs; j++) {
        const t = sampleDuration(m, random);
        const p = seenBy(predictive[j % PLANS]!, t, cadence.maxIntervalMs);
        const b = seenBy(backoff[j % PLANS]!, t, cadence.maxIntervalMs);
        delays.predictive.push(p.at - t);
        delays.backoff.push(b.at - t);
        polls.predictive += p.polls / jobs;
        polls.backoff += b.polls / jobs;
      }
      delays.predictive.sort((a, b) => a - b);
      delays.backoff.sort((a, b) => a - b);
      const ms = (x: number) => Math.round(x);
      rows.push({
        model: name,
        "median delay predictive": ms(quantile(delays.predictive, 0.5)),
        "median delay backoff": ms(quantile(delays.backoff, 0.5)),
        "p90 predictive": ms(quantile(delays.predictive, 0.9)),
        "p90 backoff": ms(quantile(delays.backoff, 0.9)),
        "p99 predictive": ms(quantile(delays.predictive, 0.99)),
        "p99 backoff": ms(quantile(delays.backoff, 0.99)),
        "polls predictive": Number(polls.predictive.toFixed(2)),
        "polls backoff": Number(polls.backoff.toFixed(2)),
      });
      expect(quantile(delays.predictive, 0.5)).toBeLessThan(quantile(delays.backoff, 0.5));
      // Delays are never negative and never beyond the maximum interval.
      expect(delays.predictive[0]).toBeGreaterThanOrEqual(0);
      expect(delays.predictive.at(-1)).toBeLessThanOrEqual(cadence.maxIntervalMs);
      // The gain is not bought with more polls.
      expect(polls.predictive).toBeLessThanOrEqual(polls.backoff * 1.01);
    }
    console.log(
      "notify delay (ms) and polls per job, 20 000 simulated jobs per model, cadence 1–10 s:\n" +
        rows
          .map((r) =>
            Object.entries(r)
              .map(([k, v]) => `${k}: ${v}`)
              .join(" | "),
          )
          .join("\n"),
    );
  });
});
