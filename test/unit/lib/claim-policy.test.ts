import { describe, expect, it } from "vitest";
import { cameBackFull, claimAgainAtOnce, claimLimit, createClaimPolicy, worthWaking } from "../../../src/lib/claim-policy.js";
import type { WakeReason } from "../../../src/lib/wake-signal.js";

describe("createClaimPolicy", () => {
  it.each([
    { concurrency: 4, maxUnacked: undefined, expected: { concurrency: 4, maxUnacked: 16, minClaim: 1 } },
    { concurrency: 16, maxUnacked: undefined, expected: { concurrency: 16, maxUnacked: 64, minClaim: 2 } },
    { concurrency: 64, maxUnacked: 100, expected: { concurrency: 64, maxUnacked: 100, minClaim: 8 } },
    { concurrency: 7, maxUnacked: 9, expected: { concurrency: 7, maxUnacked: 9, minClaim: 1 } },
    // maxUnacked below concurrency would leave slots idle: it is raised to concurrency
    { concurrency: 16, maxUnacked: 8, expected: { concurrency: 16, maxUnacked: 16, minClaim: 2 } },
    { concurrency: 1, maxUnacked: undefined, expected: { concurrency: 1, maxUnacked: 4, minClaim: 1 } },
  ])("concurrency $concurrency, maxUnacked $maxUnacked → $expected", ({ concurrency, maxUnacked, expected }) => {
    expect(createClaimPolicy(concurrency, maxUnacked)).toEqual(expected);
  });
});

describe("claimLimit", () => {
  // concurrency 16, maxUnacked 32, minClaim 2
  const policy = createClaimPolicy(16, 32);
  const cases: { inProcess: number; unacked: number; wokenBy: WakeReason; expected: number; why: string }[] = [
    { inProcess: 0, unacked: 0, wokenBy: "timer", expected: 16, why: "idle: every slot" },
    { inProcess: 0, unacked: 0, wokenBy: "woken", expected: 16, why: "idle, nudged: every slot" },
    { inProcess: 10, unacked: 10, wokenBy: "woken", expected: 6, why: "free slots" },
    { inProcess: 10, unacked: 20, wokenBy: "woken", expected: 6, why: "unacked room is not the bound" },
    { inProcess: 14, unacked: 20, wokenBy: "woken", expected: 2, why: "exactly minClaim free" },
    { inProcess: 15, unacked: 20, wokenBy: "woken", expected: 0, why: "below minClaim after a wake-up: wait for more" },
    { inProcess: 15, unacked: 20, wokenBy: "timer", expected: 1, why: "below minClaim, but the idle timer ran out" },
    { inProcess: 15, unacked: 0, wokenBy: "woken", expected: 1, why: "below minClaim, but nothing unacknowledged" },
    { inProcess: 16, unacked: 16, wokenBy: "timer", expected: 0, why: "no free slot" },
    { inProcess: 4, unacked: 30, wokenBy: "woken", expected: 2, why: "maxUnacked bounds the claim" },
    { inProcess: 4, unacked: 31, wokenBy: "woken", expected: 0, why: "maxUnacked leaves less than minClaim" },
    { inProcess: 4, unacked: 31, wokenBy: "timer", expected: 1, why: "maxUnacked leaves 1, the timer ran out" },
    { inProcess: 0, unacked: 32, wokenBy: "timer", expected: 0, why: "maxUnacked reached: no claim at all" },
  ];
  it.each(cases)("in process $inProcess, unacked $unacked, $wokenBy → $expected ($why)", (c) => {
    expect(claimLimit(policy, c.inProcess, c.unacked, c.wokenBy)).toBe(c.expected);
  });

  it("with concurrency below 8, one free slot is worth a claim", () => {
    const small = createClaimPolicy(4);
    expect(claimLimit(small, 3, 10, "woken")).toBe(1);
  });
});

describe("worthWaking", () => {
  const policy = createClaimPolicy(16); // minClaim 2
  it.each([
    { inProcess: 0, expected: true },
    { inProcess: 14, expected: true },
    { inProcess: 15, expected: false },
    { inProcess: 16, expected: false },
  ])("in process $inProcess → $expected", ({ inProcess, expected }) => {
    expect(worthWaking(policy, inProcess)).toBe(expected);
  });
});

describe("cameBackFull and claimAgainAtOnce", () => {
  it.each([
    { limit: 4, claimed: 4, errors: 0, full: true, again: true },
    { limit: 4, claimed: 4, errors: 1, full: true, again: false },
    { limit: 4, claimed: 3, errors: 0, full: false, again: false },
    { limit: 4, claimed: 0, errors: 0, full: false, again: false },
    { limit: 1, claimed: 1, errors: 0, full: true, again: true },
  ])("limit $limit, claimed $claimed, errors $errors → full $full, again $again", ({ limit, claimed, errors, full, again }) => {
    expect(cameBackFull(limit, claimed)).toBe(full);
    expect(claimAgainAtOnce(limit, claimed, errors)).toBe(again);
  });
});
