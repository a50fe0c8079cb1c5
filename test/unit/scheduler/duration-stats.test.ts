import { describe, expect, it } from "vitest";
import { MIN_EVENTS, modelOfStored, planningModel, statsOfDurations, statsOfFit } from "../../../src/scheduler/duration-stats.js";

describe("planningModel", () => {
  it("widens the spread by the fit's uncertainty, and keeps the median", () => {
    const sure = planningModel({ meanLog: 10, sdLog: 0.5, seMeanLog: 0, seSdLog: 0 });
    expect(sure).toStrictEqual({ meanLog: 10, sdLog: 0.5 });
    const unsure = planningModel({ meanLog: 10, sdLog: 0.5, seMeanLog: 0.2, seSdLog: 0.1 });
    expect(unsure.meanLog).toBe(10);
    expect(unsure.sdLog).toBeCloseTo(Math.sqrt(0.25 + 0.04) + 0.1, 12);
  });

  it("never plans with a spread under 0.1 (identical durations do not make it overconfident)", () => {
    expect(planningModel({ meanLog: 10, sdLog: 0.001, seMeanLog: 0, seSdLog: 0 }).sdLog).toBe(0.1);
  });
});

describe("stored fits", () => {
  it("are used from MIN_EVENTS completions on, widened as a fit on that many would be", () => {
    expect(MIN_EVENTS).toBe(20);
    expect(modelOfStored(undefined)).toBeUndefined();
    expect(modelOfStored({ samples: 19.9, meanLog: 10, varLog: 0.25 })).toBeUndefined();
    expect(modelOfStored({ samples: Number.NaN, meanLog: 10, varLog: 0.25 })).toBeUndefined();
    const m = modelOfStored({ samples: 100, meanLog: 10, varLog: 0.25 })!;
    expect(m.meanLog).toBe(10);
    expect(m.sdLog).toBeCloseTo(Math.sqrt(0.25 + 0.25 / 100) + 0.5 / Math.sqrt(200), 12);
  });

  it("round-trip a fit: samples are its completions, varLog its spread squared", () => {
    expect(statsOfFit({ meanLog: 9, sdLog: 0.4, seMeanLog: 0.1, seSdLog: 0.1, events: 42 })).toStrictEqual({
      samples: 42,
      meanLog: 9,
      varLog: 0.4 ** 2,
    });
  });

  it("statsOfDurations is the mean and population variance of ln t", () => {
    const s = statsOfDurations([1_000, 10_000, 100_000]);
    expect(s.samples).toBe(3);
    expect(s.meanLog).toBeCloseTo(Math.log(10_000), 12);
    expect(s.varLog).toBeCloseTo((2 * Math.log(10) ** 2) / 3, 12);
  });
});
