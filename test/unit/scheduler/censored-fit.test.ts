import { describe, expect, it } from "vitest";
import { createSeededRandom } from "../../../src/lib/random.js";
import { fitCensored, fitDistance, logLikelihood, type DurationEvidence } from "../../../src/scheduler/censored-fit.js";
import { isUsableFit } from "../../../src/scheduler/duration-stats.js";
import { normal } from "../../support/duration-sim.js";

const random = () => createSeededRandom(7);

/** Evidence as backoff polls (1 s, ×1.5, 10 s) see it at `nowMs`, for jobs started evenly over [0, nowMs). */
function observedAt(nowMs: number, durations: readonly number[]): DurationEvidence[] {
  return durations.flatMap((durationMs, i) => {
    const age = nowMs - (i * nowMs) / durations.length;
    let prev = 0;
    let at = 0;
    let interval = 1_000;
    for (;;) {
      if (at + interval > age) return prev > 0 ? [{ runningMs: prev, weight: 1 }] : [];
      at += interval;
      interval = Math.min(10_000, interval * 1.5);
      if (at >= durationMs) return prev > 0 ? [{ runningMs: prev, finishedMs: at, weight: 1 }] : [];
      prev = at;
    }
  });
}

const lognormal = (n: number, medianMs: number, sd: number) => {
  const r = random();
  return Array.from({ length: n }, () => medianMs * Math.exp(sd * normal(r)));
};

describe("fitCensored", () => {
  it("on exactly seen durations is the mean and (population) spread of ln t", () => {
    const durations = lognormal(400, 20_000, 0.6);
    const evidence = durations.map((d) => ({ runningMs: d * 0.99999, finishedMs: d, weight: 1 }));
    const fit = fitCensored(evidence)!;
    const logs = durations.map((d) => Math.log(d));
    const mean = logs.reduce((s, x) => s + x, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / logs.length);
    expect(fit.meanLog).toBeCloseTo(mean, 3);
    expect(fit.sdLog).toBeCloseTo(sd, 3);
    expect(fit.events).toBe(400);
    // The standard errors of a normal sample: σ/√n and σ/√(2n).
    expect(fit.seMeanLog).toBeCloseTo(sd / Math.sqrt(400), 2);
    expect(fit.seSdLog).toBeCloseTo(sd / Math.sqrt(800), 2);
  });

  it("half a minute into a cold start, while most jobs still run, finds the median the finished ones alone miss", () => {
    // 1,500 jobs started over the last 30 s, median 20 s: only the quick ones have finished.
    const evidence = observedAt(30_000, lognormal(1_500, 20_000, 0.6));
    const finished = evidence.filter((e) => e.finishedMs !== undefined);
    const naiveMedian = Math.exp(finished.reduce((s, e) => s + Math.log(e.finishedMs!), 0) / finished.length);
    expect(naiveMedian).toBeLessThan(0.75 * 20_000); // what learning from completions alone would say
    const fit = fitCensored(evidence)!;
    expect(Math.exp(fit.meanLog)).toBeGreaterThan(0.85 * 20_000);
    expect(Math.exp(fit.meanLog)).toBeLessThan(1.15 * 20_000);
    expect(fit.sdLog).toBeGreaterThan(0.45);
    expect(fit.sdLog).toBeLessThan(0.75);
    // …with an uncertainty that says it knows less than it would with every job seen finishing.
    expect(fit.seMeanLog).toBeGreaterThan(fit.sdLog / Math.sqrt(evidence.length));
  });

  it("is the maximum of the censored likelihood (no step away from it does better)", () => {
    const evidence = observedAt(40_000, lognormal(600, 15_000, 0.5));
    const fit = fitCensored(evidence)!;
    const best = logLikelihood(evidence, fit.meanLog, fit.sdLog);
    for (const [dm, ds] of [
      [0.01, 0],
      [-0.01, 0],
      [0, 0.01],
      [0, -0.01],
    ] as const) {
      expect(logLikelihood(evidence, fit.meanLog + dm, fit.sdLog + ds)).toBeLessThan(best);
    }
  });

  it("is undefined with no finished job, and finite with jobs running far past the fit", () => {
    expect(fitCensored([{ runningMs: 5_000, weight: 1 }])).toBeUndefined();
    expect(fitCensored([])).toBeUndefined();
    const evidence: DurationEvidence[] = [
      ...Array.from({ length: 30 }, (_, i) => ({ runningMs: 900 + i, finishedMs: 1_000 + i, weight: 1 })),
      { runningMs: 1e9, weight: 1 }, // one job running for eleven days
    ];
    const fit = fitCensored(evidence, { meanLog: Math.log(1_000), sdLog: 0.1 })!;
    expect(Number.isFinite(fit.meanLog) && Number.isFinite(fit.sdLog) && Number.isFinite(fit.seMeanLog)).toBe(true);
  });

  it("counts recent jobs more: weights follow a change in speed", () => {
    const before = lognormal(300, 20_000, 0.3).map((d) => ({ runningMs: d - 500, finishedMs: d + 500, weight: 0.01 }));
    const after = lognormal(300, 40_000, 0.3).map((d) => ({ runningMs: d - 500, finishedMs: d + 500, weight: 1 }));
    expect(Math.exp(fitCensored([...before, ...after])!.meanLog)).toBeGreaterThan(38_000);
  });
});

describe("fitDistance and isUsableFit", () => {
  it("a lognormal type's fit stays within its band; two kinds of work under one type do not", () => {
    const good = observedAt(120_000, lognormal(3_000, 20_000, 0.6));
    const goodFit = fitCensored(good)!;
    expect(fitDistance(good, goodFit)).toBeLessThan(0.03);
    expect(isUsableFit(goodFit, fitDistance(good, goodFit))).toBe(true);

    const quick = lognormal(1_500, 3_000, 0.3);
    const slow = lognormal(1_500, 60_000, 0.3);
    const mixed = observedAt(
      120_000,
      quick.flatMap((q, i) => [q, slow[i]!]),
    );
    const mixedFit = fitCensored(mixed)!;
    expect(fitDistance(mixed, mixedFit)).toBeGreaterThan(0.08);
    expect(isUsableFit(mixedFit, fitDistance(mixed, mixedFit))).toBe(false);
  });

  it("too few completions or too wide an uncertainty is not usable", () => {
    const fit = { meanLog: 10, sdLog: 0.5, seMeanLog: 0.05, seSdLog: 0.05, events: 100 };
    expect(isUsableFit(fit, 0)).toBe(true);
    expect(isUsableFit({ ...fit, events: 19 }, 0)).toBe(false);
    expect(isUsableFit({ ...fit, seMeanLog: 0.3 }, 0)).toBe(false);
    expect(isUsableFit({ ...fit, seSdLog: Infinity }, 0)).toBe(false);
    expect(isUsableFit(fit, 0.2)).toBe(false);
  });
});
