import { describe, expect, it } from "vitest";
import type { Random } from "../../../src/lib/random.js";
import {
  BACKOFF_FACTOR,
  ERROR_BACKOFF_FACTOR,
  JITTER_RATIO,
  growInterval,
  jitteredDelayMs,
  type CadenceOptions,
} from "../../../src/scheduler/cadence.js";

const cadence: CadenceOptions = { minIntervalMs: 1_000, maxIntervalMs: 10_000 };

/** A Random whose float() always returns `x`. */
const fixed = (x: number): Random => ({ float: () => x, bytes: (n) => Buffer.alloc(n) });

describe("constants", () => {
  it("are the documented factors", () => {
    expect(BACKOFF_FACTOR).toBe(1.5);
    expect(ERROR_BACKOFF_FACTOR).toBe(2);
    expect(JITTER_RATIO).toBe(0.1);
  });
});

describe("growInterval", () => {
  it.each<[number, number | undefined, number]>([
    [1_000, undefined, 1_500],
    [1_500, undefined, 2_250],
    [2_250, undefined, 3_375],
    [3_375, undefined, 5_063], // 5062.5 rounds up
    [6_000, undefined, 9_000],
    [6_666, undefined, 9_999],
    [6_667, undefined, 10_000], // 10000.5 → capped
    [7_000, undefined, 10_000], // 10500 → capped
    [10_000, undefined, 10_000],
    [50_000, undefined, 10_000], // above the cap already: brought down to it
    [500, undefined, 1_000], // 750: never below the minimum
    [0, undefined, 1_000],
    [1_000, 2, 2_000],
    [4_000, 2, 8_000],
    [6_000, 2, 10_000],
    [300, 2, 1_000],
    [5_000, 1, 5_000],
  ])("%i ×%s → %i", (interval, factor, expected) => {
    expect(growInterval(interval, cadence, factor)).toBe(expected);
  });

  it("grows from the minimum to the maximum in this exact sequence, then stays there", () => {
    const seen = [cadence.minIntervalMs];
    for (let i = 0; i < 8; i++) seen.push(growInterval(seen[seen.length - 1]!, cadence));
    expect(seen).toEqual([1_000, 1_500, 2_250, 3_375, 5_063, 7_595, 10_000, 10_000, 10_000]);
  });

  it("honours a different cadence", () => {
    const slow: CadenceOptions = { minIntervalMs: 2_000, maxIntervalMs: 3_000 };
    expect(growInterval(1_000, slow)).toBe(2_000);
    expect(growInterval(2_000, slow)).toBe(3_000);
    expect(growInterval(1_800, slow)).toBe(2_700);
  });
});

describe("jitteredDelayMs", () => {
  // [interval, random.float(), expected delay]
  it.each<[number, number, number]>([
    [5_000, 0, 4_500], // -10%
    [5_000, 0.5, 5_000], // no jitter
    [5_000, 0.999999, 5_500], // just under +10%
    [5_000, 0.25, 4_750],
    [5_000, 0.75, 5_250],
    [2_000, 0, 1_800],
    [2_000, 0.999999, 2_200],
    [1_000, 0, 1_000], // 900 → clamped to the minimum
    [1_000, 0.5, 1_000],
    [1_000, 0.999999, 1_100],
    [1_050, 0, 1_000], // 945 → clamped
    [10_000, 0, 9_000],
    [10_000, 0.5, 10_000],
    [10_000, 0.999999, 10_000], // 11000 → clamped to the maximum
    [9_500, 0.999999, 10_000], // 10450 → clamped
    [9_000, 0.999999, 9_900],
  ])("interval %i, float %f → %i", (interval, x, expected) => {
    expect(jitteredDelayMs(interval, cadence, fixed(x))).toBe(expected);
  });

  it("stays within ±10% and [min, max] for every interval of the growth sequence", () => {
    for (let interval = 1_000; interval < 10_000; interval = growInterval(interval, cadence)) {
      for (const x of [0, 0.1, 0.5, 0.9, 0.999999]) {
        const delay = jitteredDelayMs(interval, cadence, fixed(x));
        expect(delay).toBeGreaterThanOrEqual(Math.max(cadence.minIntervalMs, Math.floor(interval * 0.9)));
        expect(delay).toBeLessThanOrEqual(Math.min(cadence.maxIntervalMs, Math.ceil(interval * 1.1)));
        expect(Number.isInteger(delay)).toBe(true);
      }
    }
  });

  it("calls random.float() once per delay", () => {
    let calls = 0;
    const random: Random = { float: () => (calls++, 0.5), bytes: (n) => Buffer.alloc(n) };
    jitteredDelayMs(3_000, cadence, random);
    expect(calls).toBe(1);
  });
});
