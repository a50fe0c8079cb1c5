import { describe, expect, it } from "vitest";
import { createUpstreamBudget } from "../../../src/scheduler/upstream-budget.js";

describe("createUpstreamBudget", () => {
  const setup = (maxRps: number | undefined, share = 1) => {
    let now = 0;
    let relays = share;
    const budget = createUpstreamBudget({ maxRps, nowMs: () => now, share: () => relays });
    return { budget, advance: (ms: number) => (now += ms), setRelays: (n: number) => (relays = n) };
  };

  it("is unlimited without UPSTREAM_MAX_RPS", () => {
    const { budget } = setup(undefined);
    expect(budget.take(500)).toBe(500);
    expect(budget.limited).toBe(false);
  });

  it("grants the rate over time, with at most one second's worth at once", () => {
    const { budget, advance } = setup(100);
    expect(budget.take(1000)).toBe(0); // starts empty
    advance(500);
    expect(budget.take(1000)).toBe(50);
    advance(10_000);
    expect(budget.take(1000)).toBe(100); // burst capped at one second
    let granted = 0;
    for (let i = 0; i < 100; i++) {
      advance(100);
      granted += budget.take(1000);
    }
    expect(granted).toBeGreaterThanOrEqual(990);
    expect(granted).toBeLessThanOrEqual(1000);
  });

  it("splits the budget between the relays alive", () => {
    const { budget, advance } = setup(90, 3);
    advance(1000);
    expect(budget.take(1000)).toBe(30);
    expect(budget.rate).toBe(30);
  });

  it("halves on a 429 (once per second) and climbs back 5% of the ceiling per second", () => {
    const { budget, advance } = setup(100);
    advance(1000);
    budget.onRateLimited();
    budget.onRateLimited(); // the same burst: no second cut
    expect(budget.rate).toBe(50);
    advance(1000);
    budget.onRateLimited();
    expect(budget.rate).toBeCloseTo(27.5, 5);
    advance(10_000);
    expect((budget.take(0), budget.rate)).toBeCloseTo(77.5, 5);
    advance(60_000);
    expect((budget.take(0), budget.rate)).toBe(100);
  });
});
