import { describe, expect, it } from "vitest";
import type { ClaimedPoll } from "../../../src/domain/poll.js";
import { createDurationLearner, MAX_JOBS_PER_TYPE } from "../../../src/scheduler/duration-learner.js";
import { lognormalJobs, simulate } from "../../support/duration-sim.js";

function poll(overrides: Partial<ClaimedPoll> = {}): ClaimedPoll {
  return {
    id: "poll_1",
    tenantId: "t1",
    jobId: "job_1",
    claimSeq: 1,
    intervalMs: 1_000,
    emittedStatus: "processing",
    notFoundCount: 0,
    errorCount: 0,
    pollCount: 2,
    startedAt: new Date(0),
    prevPolledAt: new Date(8_000),
    jobType: "render",
    plannedPredictive: false,
    ...overrides,
  };
}

describe("duration learner", () => {
  it("has a usable fit of a new type within half a minute of a cold start, from jobs still running", () => {
    // 3,000 jobs over two minutes, median 20 s, σ 0.6: the cold start.
    const jobs = lognormalJobs(3_000, 120_000, () => 20_000, 0.6);
    let usableAt: number | undefined;
    const learner = simulate(jobs, 60_000, (l, now) => {
      if (usableAt === undefined && l.model("t1", "render")) usableAt = now;
    });
    expect(usableAt).toBeLessThanOrEqual(30_000);
    const fit = learner.fitOf("t1", "render")!;
    expect(Math.exp(fit.meanLog)).toBeGreaterThan(0.9 * 20_000);
    expect(Math.exp(fit.meanLog)).toBeLessThan(1.1 * 20_000);
    expect(fit.sdLog).toBeGreaterThan(0.5);
    expect(fit.sdLog).toBeLessThan(0.7);
    // The plan's spread is the fit's, widened by its uncertainty.
    expect(learner.model("t1", "render")!.sdLog).toBeGreaterThan(fit.sdLog);
    expect(learner.model("t1", "other")).toBeUndefined();
    expect(learner.model("t2", "render")).toBeUndefined();
  });

  it("follows a change in speed (median 20 s → 40 s) to within 15% in two minutes", () => {
    const change = 120_000;
    const jobs = lognormalJobs(6_000, 240_000, (start) => (start < change ? 20_000 : 40_000), 0.6, 2);
    const medians = new Map<number, number>();
    simulate(jobs, change + 120_000, (l, now) => {
      const fit = l.fitOf("t1", "render");
      if (fit) medians.set(Math.round(now / 1_000) * 1_000, Math.exp(fit.meanLog));
    });
    expect(medians.get(change)).toBeLessThan(1.15 * 20_000);
    expect(medians.get(change + 120_000)).toBeGreaterThan(0.85 * 40_000);
  });

  it("stays on backoff for two kinds of work under one type", () => {
    const jobs = lognormalJobs(3_000, 120_000, (start) => (Math.floor(start / 40) % 2 ? 3_000 : 60_000), 0.3, 3);
    const learner = simulate(jobs, 120_000);
    expect(learner.fitOf("t1", "render")?.usable).toBe(false);
    expect(learner.model("t1", "render")).toBeUndefined();
    expect(learner.takeChanged()).toEqual([]);
  });

  it("hands over each usable fit once per change, to store", () => {
    const learner = simulate(
      lognormalJobs(600, 30_000, () => 5_000, 0.4),
      40_000,
    );
    const [changed, ...rest] = learner.takeChanged();
    expect(rest).toEqual([]);
    expect(changed).toMatchObject({ tenantId: "t1", jobType: "render" });
    expect(changed!.stats.samples).toBeGreaterThanOrEqual(20);
    expect(Math.exp(changed!.stats.meanLog)).toBeGreaterThan(4_000);
    expect(learner.takeChanged()).toEqual([]);
  });

  it("keeps at most MAX_JOBS_PER_TYPE jobs of a type, by sampling more thinly", () => {
    const more = simulate(
      lognormalJobs(5_000, 10_000, () => 2_000, 0.5),
      20_000,
    );
    expect(more.fitOf("t1", "render")!.jobs).toBeLessThanOrEqual(MAX_JOBS_PER_TYPE);
    expect(more.fitOf("t1", "render")!.jobs).toBeGreaterThan(MAX_JOBS_PER_TYPE / 4);
  });

  describe("what one answer says", () => {
    const answer = (status: string, type: unknown = "render") => ({ kind: "ok", job: { id: "job_1", status, type } }) as const;

    it("learns nothing from errors, unknown statuses, answers without a type, or a completion never seen running", () => {
      let now = 10_000;
      const learner = createDurationLearner({ nowMs: () => now });
      learner.observe(poll(), { kind: "not_found" });
      learner.observe(poll(), answer("rendering_somehow"));
      learner.observe(poll(), answer("completed", 7));
      learner.observe(poll({ emittedStatus: null, prevPolledAt: null }), answer("completed"));
      learner.observe(poll({ id: "p2", emittedStatus: null }), answer("failed"));
      now = 20_000;
      learner.refit();
      expect(learner.fitOf("t1", "render")).toBeUndefined();
    });

    it("a completion seen by another process counts from the previous poll; a failure keeps the job's running age", () => {
      const now = 10_000;
      const learner = createDurationLearner({ nowMs: () => now });
      // Seen running at 8 s (by whichever relay polled it), completed at 10 s.
      learner.observe(poll(), answer("completed"));
      // Seen running at 10 s by this process, then failed: it ran at least 10 s.
      learner.observe(poll({ id: "p2", emittedStatus: null, prevPolledAt: null }), answer("processing"));
      learner.observe(poll({ id: "p2" }), answer("failed"));
      learner.refit();
      const fit = learner.fitOf("t1", "render")!;
      expect(fit.events).toBe(1);
      expect(fit.jobs).toBe(2);
    });
  });
});
