import { describe, expect, it } from "vitest";
import type { ClaimedPoll } from "../../../src/domain/poll.js";
import { createSeededRandom } from "../../../src/lib/random.js";
import { BACKOFF_FACTOR, JITTER_RATIO } from "../../../src/scheduler/cadence.js";
import { backoffPlan, predictivePlan } from "../../../src/scheduler/plan-polls.js";
import { claimSchedule, createPollTiming } from "../../../src/scheduler/poll-timing.js";

const cadence = { minIntervalMs: 1000, maxIntervalMs: 10_000 };
const poll = { tenantId: "ten_1" } as ClaimedPoll;
const model = { meanLog: Math.log(20_000), sdLog: 0.5 };

describe("poll timing", () => {
  it("claims schedule with the cadence and backoff's growth and jitter", () => {
    expect(claimSchedule(cadence)).toEqual({ ...cadence, growthFactor: BACKOFF_FACTOR, jitterRatio: JITTER_RATIO });
  });

  it("plans predictively for a (tenant, type) with a learned distribution, with backoff otherwise", () => {
    const timing = (seed: number) =>
      createPollTiming({
        cadence,
        random: createSeededRandom(seed),
        model: (tenantId, jobType) => (tenantId === "ten_1" && jobType === "export" ? model : undefined),
      });
    expect(timing(1).hasModel(poll, "export")).toBe(true);
    expect(timing(1).hasModel(poll, "render")).toBe(false);
    expect(timing(1).plan(poll, "export", 3_000)).toEqual(predictivePlan(3_000, model, cadence, createSeededRandom(1)));
    expect(timing(1).plan(poll, "render", 3_000)).toEqual(backoffPlan(3_000, cadence, createSeededRandom(1)));
    expect(timing(1).plan(poll, undefined, 0)).toEqual(backoffPlan(0, cadence, createSeededRandom(1)));
  });
});
