import { describe, expect, it } from "vitest";
import { createSeededRandom, type Random } from "../../../src/lib/random.js";
import { DECAY, MIN_SAMPLES, modelOf, observeDuration } from "../../../src/scheduler/duration-stats.js";
import { type TypeStats } from "../../../src/domain/type-stats.js";

/** Standard normal (Box–Muller) from a seeded generator. */
function normal(random: Random): number {
  const u = 1 - random.float(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.float());
}

const lognormal = (medianMs: number, sdLog: number, random: Random) => medianMs * Math.exp(sdLog * normal(random));

function observeAll(durations: readonly number[], stats?: TypeStats): TypeStats | undefined {
  return durations.reduce<TypeStats | undefined>((s, d) => observeDuration(s, d), stats);
}

const repeat = (n: number, d: number) => Array<number>(n).fill(d);

describe("constants", () => {
  it("DECAY follows the last ~50 jobs; MIN_SAMPLES is 20", () => {
    expect(DECAY).toBe(0.02);
    expect(1 / DECAY).toBe(50);
    expect(MIN_SAMPLES).toBe(20);
  });
});

describe("observeDuration", () => {
  it("starts from one observation with no spread", () => {
    expect(observeDuration(undefined, 8_000)).toStrictEqual({ samples: 1, meanLog: Math.log(8_000), varLog: 0 });
  });

  it("treats durations under 1 ms as 1 ms (a finite log)", () => {
    expect(observeDuration(undefined, 0)).toStrictEqual({ samples: 1, meanLog: 0, varLog: 0 });
    expect(observeDuration(undefined, -5)).toStrictEqual({ samples: 1, meanLog: 0, varLog: 0 });
    expect(observeDuration(undefined, 0.5).meanLog).toBe(0);
  });

  it("does not touch the stats it is given", () => {
    const stats = { samples: 10, meanLog: 9, varLog: 0.2 };
    observeDuration(stats, 20_000);
    expect(stats).toStrictEqual({ samples: 10, meanLog: 9, varLog: 0.2 });
  });

  it("until 1/DECAY observations: exactly the running mean and (population) variance of ln t", () => {
    const random = createSeededRandom(3);
    const durations = Array.from({ length: 1 / DECAY }, () => lognormal(20_000, 0.4, random));
    let stats: TypeStats | undefined;
    durations.forEach((d, i) => {
      stats = observeDuration(stats, d);
      const logs = durations.slice(0, i + 1).map(Math.log);
      const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
      const variance = logs.reduce((a, x) => a + (x - mean) ** 2, 0) / logs.length;
      expect(stats.samples).toBe(i + 1);
      expect(stats.meanLog).toBeCloseTo(mean, 10);
      expect(stats.varLog).toBeCloseTo(variance, 10);
    });
  });

  it("caps samples at 1/DECAY", () => {
    let stats: TypeStats | undefined;
    const seen: number[] = [];
    for (let i = 0; i < 200; i++) {
      stats = observeDuration(stats, 10_000 + i);
      seen.push(stats.samples);
    }
    expect(seen.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(new Set(seen.slice(49))).toEqual(new Set([1 / DECAY]));
  });

  it("converges to the true log-mean and log-variance on a long lognormal stream", () => {
    const trueMean = Math.log(20_000);
    const trueSd = 0.4;
    const random = createSeededRandom(1);
    let stats: TypeStats | undefined;
    let meanSum = 0;
    let varSum = 0;
    let n = 0;
    for (let i = 0; i < 20_000; i++) {
      stats = observeDuration(stats, lognormal(20_000, trueSd, random));
      if (i >= 10_000) {
        meanSum += stats.meanLog;
        varSum += stats.varLog;
        n++;
      }
    }
    // Averaged over the second half: unbiased (the variance by ~1% low, as an EW estimate is).
    expect(Math.abs(meanSum / n - trueMean)).toBeLessThan(0.01);
    expect(varSum / n / trueSd ** 2).toBeGreaterThan(0.95);
    expect(varSum / n / trueSd ** 2).toBeLessThan(1.03);
    // The final fit itself, a ~50-job window: within ~3 standard errors.
    expect(Math.abs(stats!.meanLog - trueMean)).toBeLessThan(0.12);
    expect(Math.sqrt(stats!.varLog) / trueSd).toBeGreaterThan(0.75);
    expect(Math.sqrt(stats!.varLog) / trueSd).toBeLessThan(1.25);
  });

  it("follows drift: after the median doubles, the fit moves within ~150 observations", () => {
    const random = createSeededRandom(101);
    const sd = 0.3;
    const before = Math.log(20_000);
    const after = Math.log(40_000);
    let stats = observeAll(Array.from({ length: 1_000 }, () => lognormal(20_000, sd, random)))!;
    expect(Math.abs(stats.meanLog - before)).toBeLessThan(0.1);
    const halfway = (before + after) / 2;
    const track: Record<number, TypeStats> = {};
    for (let i = 1; i <= 150; i++) {
      stats = observeDuration(stats, lognormal(40_000, sd, random));
      track[i] = stats;
    }
    // Smoothed: ten jobs do not move it halfway; fifty do.
    expect(track[10]!.meanLog).toBeLessThan(halfway);
    expect(track[50]!.meanLog).toBeGreaterThan(halfway);
    // After 150 the median is within 10% of the new one, and the spread back near the truth.
    expect(Math.abs(track[150]!.meanLog - after)).toBeLessThan(0.1);
    expect(Math.sqrt(track[150]!.varLog)).toBeGreaterThan(sd * 0.75);
    expect(Math.sqrt(track[150]!.varLog)).toBeLessThan(sd * 1.25);
  });
});

describe("modelOf", () => {
  const random = createSeededRandom(9);
  const stream = Array.from({ length: 40 }, () => lognormal(8_000, 0.4, random));

  it("is undefined without stats, and below MIN_SAMPLES observations", () => {
    expect(modelOf(undefined)).toBeUndefined();
    for (let n = 1; n < MIN_SAMPLES; n++) expect(modelOf(observeAll(stream.slice(0, n)))).toBeUndefined();
    expect(modelOf({ samples: MIN_SAMPLES - 0.5, meanLog: 9, varLog: 0.2 })).toBeUndefined();
  });

  it("from MIN_SAMPLES on: the fit's mean and standard deviation", () => {
    for (const n of [MIN_SAMPLES, MIN_SAMPLES + 1, 40]) {
      const stats = observeAll(stream.slice(0, n))!;
      expect(modelOf(stats)).toStrictEqual({ meanLog: stats.meanLog, sdLog: Math.sqrt(stats.varLog) });
    }
    expect(modelOf({ samples: 50, meanLog: 10, varLog: 0.25 })).toStrictEqual({ meanLog: 10, sdLog: 0.5 });
  });

  it("floors the spread at 0.1, so identical durations do not make it overconfident", () => {
    expect(modelOf(observeAll(repeat(30, 12_000)))).toStrictEqual({ meanLog: Math.log(12_000), sdLog: 0.1 });
    expect(modelOf({ samples: 50, meanLog: 10, varLog: 0.001 })).toStrictEqual({ meanLog: 10, sdLog: 0.1 });
    expect(modelOf({ samples: 50, meanLog: 10, varLog: 0.1 ** 2 })?.sdLog).toBeCloseTo(0.1, 12);
    expect(modelOf({ samples: 50, meanLog: 10, varLog: 0.011 })?.sdLog).toBeCloseTo(Math.sqrt(0.011), 12);
  });
});
