import { describe, expect, it } from "vitest";
import type { ClaimedPoll, PollUpdate } from "../../../src/domain/poll.js";
import { createPollTracker } from "../../../src/scheduler/poll-tracker.js";

const claim = (claimSeq: number, id = "pol_1"): ClaimedPoll => ({
  id,
  tenantId: "ten_1",
  jobId: "job_1",
  claimSeq,
  intervalMs: 1_000,
  emittedStatus: "processing",
  notFoundCount: 0,
  errorCount: 0,
  pollCount: claimSeq,
  startedAt: new Date(0),
  prevPolledAt: null,
  jobType: null,
  plannedPredictive: false,
});

const ack = (claimSeq: number): PollUpdate => ({
  id: "pol_1",
  tenantId: "ten_1",
  jobId: "job_1",
  claimSeq,
  status: "active",
  nextPollAt: new Date(5_000),
  intervalMs: 1_000,
  notFoundCount: 0,
  errorCount: 0,
  lastError: "upstream_rate_limited",
  polled: 1,
  observedAt: new Date(0),
});

function tracker() {
  let now = 10_000;
  const t = createPollTracker(1_000, () => now);
  return { t, advance: (ms: number) => (now += ms) };
}

describe("createPollTracker", () => {
  it("lets the first claim poll at once", () => {
    const { t } = tracker();
    expect(t.begin(claim(1))).toEqual({ waitMs: 0 });
  });

  it("sends no second request while the first is out, and answers under the newest claim", () => {
    const { t, advance } = tracker();
    t.begin(claim(1));
    advance(1_500); // a slow upstream: the claim's next poll came due
    expect(t.begin(claim(2))).toBeUndefined();
    expect(t.latest(claim(1)).claimSeq).toBe(2);
  });

  it("waits out the rest of the minimum interval since the last answer, and moves an unwritten result to the newest claim", () => {
    const { t, advance } = tracker();
    t.begin(claim(1));
    advance(30);
    const pending = ack(1);
    t.finish(claim(1), pending); // answered 30 ms after the claim
    advance(980); // the next claim, 1 s after this one: 20 ms short of 1 s since the answer
    expect(t.begin(claim(2))).toEqual({ waitMs: 20 });
    expect(pending.claimSeq).toBe(2);
  });

  it("polls at once when the minimum interval has passed", () => {
    const { t, advance } = tracker();
    t.begin(claim(1));
    t.finish(claim(1), undefined);
    advance(1_000);
    expect(t.begin(claim(2))).toEqual({ waitMs: 0 });
  });

  it("keeps only recent polls and those in flight", () => {
    const { t, advance } = tracker();
    t.begin(claim(1, "pol_a"));
    t.finish(claim(1, "pol_a"), undefined);
    t.begin(claim(1, "pol_b")); // still out
    advance(2_000);
    t.prune();
    expect(t.size).toBe(1);
    expect(t.begin(claim(2, "pol_b"))).toBeUndefined();
  });
});
