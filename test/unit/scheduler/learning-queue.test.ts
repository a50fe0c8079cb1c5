import { describe, expect, it } from "vitest";
import { createLearningQueue, DEFAULT_HORIZON_MS, MAX_HORIZON_MS } from "../../../src/scheduler/learning-queue.js";

function queue(model?: { meanLog: number; sdLog: number }, detectionLagMs = 0) {
  let now = 1_000_000;
  const q = createLearningQueue({ nowMs: () => now, model: () => model, detectionLagMs });
  return { q, at: (ms: number) => (now = ms) };
}

const obs = (startedAtMs: number, durationMs: number, jobType = "render") => ({
  tenantId: "ten_1",
  jobType,
  startedAtMs,
  durationMs,
});

describe("createLearningQueue", () => {
  it("holds a completion back until every job started with it has had time to finish (the fit's 99.9th percentile)", () => {
    const model = { meanLog: Math.log(10_000), sdLog: 0.5 }; // p99.9 ≈ 10 s · e^(3.09·0.5) ≈ 46.9 s
    const { q, at } = queue(model);
    q.add(obs(0, 5_000));
    at(46_000);
    expect(q.takeComplete()).toEqual([]);
    at(47_000);
    expect(q.takeComplete()).toEqual([obs(0, 5_000)]);
    expect(q.size).toBe(0);
  });

  it("also waits out the detection lag: a cohort's slowest jobs are seen up to a poll interval after they finish", () => {
    const model = { meanLog: Math.log(10_000), sdLog: 0.5 }; // p99.9 ≈ 46.9 s
    const { q, at } = queue(model, 15_000);
    q.add(obs(0, 5_000));
    at(61_000);
    expect(q.takeComplete()).toEqual([]);
    at(62_000);
    expect(q.takeComplete()).toEqual([obs(0, 5_000)]);
  });

  it("hands over complete cohorts oldest start first, whatever order they finished in", () => {
    const { q, at } = queue({ meanLog: Math.log(1_000), sdLog: 0.1 });
    q.add(obs(2_000, 500)); // quick job of a later cohort finished first
    q.add(obs(0, 3_000));
    q.add(obs(60_000, 100)); // not complete yet
    at(10_000);
    expect(q.takeComplete().map((o) => o.startedAtMs)).toEqual([0, 2_000]);
    expect(q.size).toBe(1);
  });

  it("waits 15 minutes without a fit, and at most an hour with one", () => {
    const none = queue();
    none.q.add(obs(0, 1_000));
    none.at(DEFAULT_HORIZON_MS - 1);
    expect(none.q.takeComplete()).toEqual([]);
    none.at(DEFAULT_HORIZON_MS);
    expect(none.q.takeComplete()).toHaveLength(1);

    const huge = queue({ meanLog: Math.log(24 * 3_600_000), sdLog: 1 });
    huge.q.add(obs(0, 1_000));
    huge.at(MAX_HORIZON_MS);
    expect(huge.q.takeComplete()).toHaveLength(1);
  });
});
