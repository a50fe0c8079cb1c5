import { describe, expect, it } from "vitest";
import { createOriginGate, type OriginGate } from "../../../src/delivery/origin-gate.js";
import { type OriginSnapshot } from "../../../src/domain/breaker.js";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
/** Fake time: `at(ms)` is T0 + ms. */
const at = (ms: number) => new Date(T0 + ms);

const A = "https://a.example";
const B = "https://b.example:8443";
const T1 = "ten_1";
const T2 = "ten_2";
const COOLDOWN = 30_000;

function gate(options: Partial<{ perOriginConcurrency: number; threshold: number; cooldownMs: number }> = {}): OriginGate {
  return createOriginGate({ perOriginConcurrency: 2, threshold: 3, cooldownMs: COOLDOWN, ...options });
}

/** Admits and fails one delivery `n` times, at `now`. */
function fail(g: OriginGate, tenant: string, origin: string, n: number, now: Date): void {
  for (let i = 0; i < n; i++) {
    expect(g.admit(tenant, origin, now)).toStrictEqual({ run: true });
    g.finish(tenant, origin, "failure", now);
  }
}

/** A gate whose (T1, A) breaker opened at `at(0)` (threshold 3, cap 2, cooldown 30 s); changes already taken. */
function opened(): OriginGate {
  const g = gate();
  fail(g, T1, A, 3, at(0));
  g.takeChanges();
  return g;
}

const snapshot = (overrides: Partial<OriginSnapshot>): OriginSnapshot => ({
  tenantId: T1,
  origin: A,
  state: "closed",
  consecutiveFailures: 0,
  openedAt: null,
  openUntil: null,
  lastSuccessAt: null,
  lastFailureAt: null,
  ...overrides,
});

describe("per-origin concurrency", () => {
  it("admits up to the cap, then refuses with retryAt = now", () => {
    const g = gate();
    expect(g.admit(T1, A, at(0))).toStrictEqual({ run: true });
    expect(g.fullOrigins()).toEqual([]);
    expect(g.admit(T1, A, at(1))).toStrictEqual({ run: true });
    expect(g.fullOrigins()).toEqual([A]);
    expect(g.admit(T1, A, at(2))).toStrictEqual({ run: false, retryAt: at(2) });
    expect(g.admit(T1, A, at(3))).toStrictEqual({ run: false, retryAt: at(3) });
  });

  it.each(["success", "failure", "neutral"] as const)("finish (%s) frees the slot", (health) => {
    const g = gate({ threshold: 100 });
    g.admit(T1, A, at(0));
    g.admit(T1, A, at(0));
    g.finish(T1, A, health, at(1));
    expect(g.fullOrigins()).toEqual([]);
    expect(g.admit(T1, A, at(2))).toStrictEqual({ run: true });
    expect(g.fullOrigins()).toEqual([A]);
  });

  it("a refused admit takes no slot", () => {
    const g = gate();
    g.admit(T1, A, at(0));
    g.admit(T1, A, at(0));
    for (let i = 0; i < 5; i++) expect(g.admit(T1, A, at(1)).run).toBe(false);
    g.finish(T1, A, "success", at(2));
    expect(g.admit(T1, A, at(3)).run).toBe(true);
    expect(g.admit(T1, A, at(3)).run).toBe(false);
  });

  it("the cap is per origin: another origin still runs", () => {
    const g = gate();
    g.admit(T1, A, at(0));
    g.admit(T1, A, at(0));
    expect(g.admit(T1, A, at(1)).run).toBe(false);
    expect(g.admit(T1, B, at(1))).toStrictEqual({ run: true });
    expect(g.fullOrigins()).toEqual([A]);
    expect(g.admit(T1, B, at(1))).toStrictEqual({ run: true });
    expect([...g.fullOrigins()].sort()).toEqual([A, B]);
  });

  it("two tenants on one origin share the cap", () => {
    const g = gate();
    expect(g.admit(T1, A, at(0)).run).toBe(true);
    expect(g.admit(T2, A, at(0)).run).toBe(true);
    expect(g.admit(T1, A, at(1))).toStrictEqual({ run: false, retryAt: at(1) });
    expect(g.admit(T2, A, at(1))).toStrictEqual({ run: false, retryAt: at(1) });
    g.finish(T1, A, "success", at(2));
    expect(g.admit(T2, A, at(3)).run).toBe(true);
  });

  it("a cap of 1", () => {
    const g = gate({ perOriginConcurrency: 1 });
    expect(g.admit(T1, A, at(0)).run).toBe(true);
    expect(g.fullOrigins()).toEqual([A]);
    expect(g.admit(T2, A, at(0)).run).toBe(false);
  });

  it("nothing in flight: no full origins", () => {
    expect(gate().fullOrigins()).toEqual([]);
  });
});

describe("circuit breaker", () => {
  it("stays closed below the threshold", () => {
    const g = gate();
    fail(g, T1, A, 2, at(0));
    expect(g.admit(T1, A, at(1))).toStrictEqual({ run: true });
    expect(g.pausedPairs(at(1))).toEqual([]);
    expect(g.takeChanges()).toStrictEqual({
      changed: [snapshot({ consecutiveFailures: 2, lastFailureAt: at(0) })],
      opened: [],
    });
  });

  it("a success resets the count of consecutive failures", () => {
    const g = gate();
    fail(g, T1, A, 2, at(0));
    g.admit(T1, A, at(1));
    g.finish(T1, A, "success", at(1));
    fail(g, T1, A, 2, at(2));
    expect(g.admit(T1, A, at(3)).run).toBe(true);
    expect(g.pausedPairs(at(3))).toEqual([]);
    expect(g.takeChanges().changed).toStrictEqual([
      snapshot({ consecutiveFailures: 2, lastSuccessAt: at(1), lastFailureAt: at(2) }),
    ]);
  });

  it("opens after `threshold` consecutive failures, until now + cooldown", () => {
    const g = gate();
    fail(g, T1, A, 2, at(0));
    fail(g, T1, A, 1, at(500));
    const open = snapshot({
      state: "open",
      consecutiveFailures: 3,
      openedAt: at(500),
      openUntil: at(500 + COOLDOWN),
      lastFailureAt: at(500),
    });
    expect(g.admit(T1, A, at(600))).toStrictEqual({ run: false, retryAt: at(500 + COOLDOWN) });
    expect(g.admit(T1, A, at(500 + COOLDOWN - 1))).toStrictEqual({ run: false, retryAt: at(500 + COOLDOWN) });
    expect(g.pausedPairs(at(600))).toEqual([`${T1} ${A}`]);
    expect(g.takeChanges()).toStrictEqual({ changed: [open], opened: [open] });
  });

  it("threshold 1: the first failure opens", () => {
    const g = gate({ threshold: 1 });
    fail(g, T1, A, 1, at(0));
    expect(g.admit(T1, A, at(1))).toStrictEqual({ run: false, retryAt: at(COOLDOWN) });
  });

  it("a refusal because of an open breaker takes no slot", () => {
    const g = opened();
    for (let i = 0; i < 5; i++) expect(g.admit(T1, A, at(1)).run).toBe(false);
    expect(g.fullOrigins()).toEqual([]);
    expect(g.admit(T2, A, at(1)).run).toBe(true);
    expect(g.admit(T2, A, at(1)).run).toBe(true);
  });

  it("two tenants on one origin have separate breakers (but share the cap)", () => {
    const g = opened();
    expect(g.admit(T1, A, at(1)).run).toBe(false);
    expect(g.admit(T2, A, at(1))).toStrictEqual({ run: true });
    g.finish(T2, A, "failure", at(2));
    expect(g.pausedPairs(at(3))).toEqual([`${T1} ${A}`]);
    // T2's own breaker counts its own failures only
    fail(g, T2, A, 1, at(3));
    expect(g.admit(T2, A, at(4)).run).toBe(true); // two failures: T2 still closed
    g.finish(T2, A, "failure", at(5)); // the third failure of T2 opens T2's breaker
    expect([...g.pausedPairs(at(6))].sort()).toEqual([`${T1} ${A}`, `${T2} ${A}`]);
    expect(g.admit(T2, A, at(6))).toStrictEqual({ run: false, retryAt: at(5 + COOLDOWN) });
  });

  it("the same tenant's breaker on another origin is separate", () => {
    const g = opened();
    expect(g.admit(T1, B, at(1))).toStrictEqual({ run: true });
    expect(g.pausedPairs(at(1))).toEqual([`${T1} ${A}`]);
  });

  describe("pausedPairs", () => {
    it("lists the pair while open, not once the cool-down is over (so the probe can be claimed)", () => {
      const g = opened();
      expect(g.pausedPairs(at(0))).toEqual([`${T1} ${A}`]);
      expect(g.pausedPairs(at(COOLDOWN - 1))).toEqual([`${T1} ${A}`]);
      expect(g.pausedPairs(at(COOLDOWN))).toEqual([]);
      expect(g.pausedPairs(at(COOLDOWN + 60_000))).toEqual([]);
    });

    it("lists the pair while its probe is in flight, whatever the time", () => {
      const g = opened();
      expect(g.admit(T1, A, at(COOLDOWN)).run).toBe(true);
      expect(g.pausedPairs(at(COOLDOWN))).toEqual([`${T1} ${A}`]);
      expect(g.pausedPairs(at(COOLDOWN * 10))).toEqual([`${T1} ${A}`]);
    });

    it("is empty for closed breakers, failing or not", () => {
      const g = gate();
      fail(g, T1, A, 2, at(0));
      g.admit(T2, B, at(0));
      g.finish(T2, B, "success", at(0));
      expect(g.pausedPairs(at(1))).toEqual([]);
    });
  });

  describe("the probe", () => {
    it("after the cool-down, exactly one delivery is admitted (half_open), the others are refused while it is in flight", () => {
      const g = opened();
      expect(g.admit(T1, A, at(COOLDOWN))).toStrictEqual({ run: true, probe: true });
      expect(g.takeChanges()).toStrictEqual({
        changed: [
          snapshot({
            state: "half_open",
            consecutiveFailures: 3,
            openedAt: at(0),
            openUntil: at(COOLDOWN),
            lastFailureAt: at(0),
          }),
        ],
        opened: [],
      });
      for (const t of [COOLDOWN, COOLDOWN + 1, COOLDOWN + 60_000]) {
        expect(g.admit(T1, A, at(t))).toStrictEqual({ run: false, retryAt: at(t) });
      }
      // the probe holds one slot of the origin; other tenants still get the rest
      expect(g.admit(T2, A, at(COOLDOWN + 2)).run).toBe(true);
      expect(g.admit(T2, A, at(COOLDOWN + 2)).run).toBe(false);
    });

    it("the probe's success closes the breaker and resets the failures", () => {
      const g = opened();
      g.admit(T1, A, at(COOLDOWN));
      g.takeChanges();
      g.finish(T1, A, "success", at(COOLDOWN + 100), true);
      expect(g.takeChanges()).toStrictEqual({
        changed: [snapshot({ lastSuccessAt: at(COOLDOWN + 100), lastFailureAt: at(0) })],
        opened: [],
      });
      expect(g.pausedPairs(at(COOLDOWN + 101))).toEqual([]);
      expect(g.admit(T1, A, at(COOLDOWN + 101))).toStrictEqual({ run: true });
      expect(g.admit(T1, A, at(COOLDOWN + 101))).toStrictEqual({ run: true });
      g.finish(T1, A, "failure", at(COOLDOWN + 200));
      g.finish(T1, A, "failure", at(COOLDOWN + 200));
      // two failures after the reset: below the threshold of 3
      expect(g.admit(T1, A, at(COOLDOWN + 300)).run).toBe(true);
      g.finish(T1, A, "failure", at(COOLDOWN + 400));
      expect(g.admit(T1, A, at(COOLDOWN + 500))).toStrictEqual({ run: false, retryAt: at(COOLDOWN + 400 + COOLDOWN) });
    });

    it("the probe's failure opens the breaker again, with a new openUntil", () => {
      const g = opened();
      g.admit(T1, A, at(COOLDOWN));
      g.takeChanges();
      const failedAt = COOLDOWN + 2_000;
      g.finish(T1, A, "failure", at(failedAt), true);
      const reopened = snapshot({
        state: "open",
        consecutiveFailures: 4,
        openedAt: at(failedAt),
        openUntil: at(failedAt + COOLDOWN),
        lastFailureAt: at(failedAt),
      });
      expect(g.takeChanges()).toStrictEqual({ changed: [reopened], opened: [reopened] });
      expect(g.admit(T1, A, at(failedAt + 1))).toStrictEqual({ run: false, retryAt: at(failedAt + COOLDOWN) });
      expect(g.pausedPairs(at(failedAt + COOLDOWN - 1))).toEqual([`${T1} ${A}`]);
      expect(g.pausedPairs(at(failedAt + COOLDOWN))).toEqual([]);
      // and the next cool-down ends in a probe again
      expect(g.admit(T1, A, at(failedAt + COOLDOWN))).toStrictEqual({ run: true, probe: true });
      expect(g.admit(T1, A, at(failedAt + COOLDOWN))).toStrictEqual({ run: false, retryAt: at(failedAt + COOLDOWN) });
      g.finish(T1, A, "success", at(failedAt + COOLDOWN + 1), true);
      expect(g.takeChanges().changed).toMatchObject([{ state: "closed", consecutiveFailures: 0, openUntil: null }]);
    });

    it("a neutral probe leaves the breaker half_open and frees the probe: the next admit is the probe", () => {
      const g = opened();
      g.admit(T1, A, at(COOLDOWN));
      g.takeChanges();
      g.finish(T1, A, "neutral", at(COOLDOWN + 10), true);
      expect(g.takeChanges()).toStrictEqual({ changed: [], opened: [] });
      expect(g.fullOrigins()).toEqual([]);
      expect(g.pausedPairs(at(COOLDOWN + 11))).toEqual([]);
      expect(g.admit(T1, A, at(COOLDOWN + 11))).toStrictEqual({ run: true, probe: true });
      expect(g.admit(T1, A, at(COOLDOWN + 11))).toStrictEqual({ run: false, retryAt: at(COOLDOWN + 11) });
      expect(g.pausedPairs(at(COOLDOWN + 11))).toEqual([`${T1} ${A}`]);
      // that probe's failure reopens the breaker
      g.finish(T1, A, "failure", at(COOLDOWN + 20), true);
      expect(g.takeChanges().opened).toMatchObject([{ state: "open", openUntil: at(COOLDOWN + 20 + COOLDOWN) }]);
    });

    it("a stale request of the pair finishing during the probe does not let a second probe in", () => {
      // cap 3: three requests go out; two fail and open the breaker while the third is still in flight (slow receiver,
      // or DELIVERY_TIMEOUT_MS above DELIVERY_BREAKER_COOLDOWN_MS). The cool-down ends, the probe goes, then the
      // stale third request ends "neutral" (e.g. blocked/aborted): finish() clears probeInFlight although it was not
      // the probe, so the next admit becomes a second concurrent probe.
      const g = gate({ perOriginConcurrency: 3, threshold: 2 });
      for (let i = 0; i < 3; i++) expect(g.admit(T1, A, at(0)).run).toBe(true);
      g.finish(T1, A, "failure", at(10));
      g.finish(T1, A, "failure", at(20)); // open until 20 + COOLDOWN; the third request is still in flight
      expect(g.admit(T1, A, at(20 + COOLDOWN))).toStrictEqual({ run: true, probe: true }); // the probe
      g.finish(T1, A, "neutral", at(20 + COOLDOWN + 5)); // the stale third request, not the probe
      expect(g.admit(T1, A, at(20 + COOLDOWN + 6))).toStrictEqual({ run: false, retryAt: at(20 + COOLDOWN + 6) });
    });
  });

  describe("neutral", () => {
    it("never changes a closed breaker: failures keep counting across it", () => {
      const g = gate();
      fail(g, T1, A, 2, at(0));
      g.takeChanges();
      g.admit(T1, A, at(1));
      g.finish(T1, A, "neutral", at(1));
      expect(g.takeChanges()).toStrictEqual({ changed: [], opened: [] });
      fail(g, T1, A, 1, at(2)); // the third failure opens
      expect(g.admit(T1, A, at(3))).toStrictEqual({ run: false, retryAt: at(2 + COOLDOWN) });
    });

    it("on a fresh pair: no breaker change to persist", () => {
      const g = gate();
      g.admit(T1, A, at(0));
      g.finish(T1, A, "neutral", at(1));
      expect(g.takeChanges()).toStrictEqual({ changed: [], opened: [] });
      expect(g.pausedPairs(at(1))).toEqual([]);
    });

    it("does not close or extend an open breaker (a request that was in flight when it opened)", () => {
      const g = gate({ perOriginConcurrency: 4 });
      for (let i = 0; i < 4; i++) g.admit(T1, A, at(0));
      for (let i = 0; i < 3; i++) g.finish(T1, A, "failure", at(0));
      g.takeChanges();
      g.finish(T1, A, "neutral", at(100));
      expect(g.takeChanges()).toStrictEqual({ changed: [], opened: [] });
      expect(g.admit(T1, A, at(200))).toStrictEqual({ run: false, retryAt: at(COOLDOWN) });
      expect(g.fullOrigins()).toEqual([]);
    });
  });

  describe("takeChanges", () => {
    it("starts empty", () => {
      expect(gate().takeChanges()).toStrictEqual({ changed: [], opened: [] });
    });

    it("reports each change once, and an opening only once", () => {
      const g = gate();
      fail(g, T1, A, 3, at(0));
      const first = g.takeChanges();
      expect(first.changed).toHaveLength(1);
      expect(first.opened).toStrictEqual([
        snapshot({ state: "open", consecutiveFailures: 3, openedAt: at(0), openUntil: at(COOLDOWN), lastFailureAt: at(0) }),
      ]);
      expect(g.takeChanges()).toStrictEqual({ changed: [], opened: [] });
      // refusals while open change nothing
      g.admit(T1, A, at(1));
      g.pausedPairs(at(1));
      expect(g.takeChanges()).toStrictEqual({ changed: [], opened: [] });
    });

    it("several changes of one pair make one snapshot (the latest)", () => {
      const g = gate({ threshold: 10 });
      fail(g, T1, A, 4, at(0));
      fail(g, T1, A, 1, at(50));
      expect(g.takeChanges().changed).toStrictEqual([snapshot({ consecutiveFailures: 5, lastFailureAt: at(50) })]);
    });

    it("reports every changed pair, and each that opened", () => {
      const g = gate({ perOriginConcurrency: 10 });
      fail(g, T1, A, 3, at(0));
      fail(g, T2, A, 1, at(1));
      fail(g, T2, B, 3, at(2));
      const { changed, opened: openedNow } = g.takeChanges();
      expect(changed.map((s) => `${s.tenantId} ${s.origin} ${s.state}`).sort()).toEqual([
        `${T1} ${A} open`,
        `${T2} ${A} closed`,
        `${T2} ${B} open`,
      ]);
      expect(openedNow.map((s) => `${s.tenantId} ${s.origin}`).sort()).toEqual([`${T1} ${A}`, `${T2} ${B}`]);
    });

    it("a breaker that opens, closes and opens again is reported as opened twice", () => {
      const g = gate();
      fail(g, T1, A, 3, at(0));
      g.admit(T1, A, at(COOLDOWN));
      g.finish(T1, A, "success", at(COOLDOWN), true);
      fail(g, T1, A, 3, at(COOLDOWN + 1));
      const { opened: openedNow } = g.takeChanges();
      expect(openedNow.map((s) => s.openUntil)).toEqual([at(COOLDOWN), at(COOLDOWN + 1 + COOLDOWN)]);
    });

    it("snapshots are copies, without internal fields", () => {
      const g = gate();
      fail(g, T1, A, 3, at(0));
      const { opened: openedNow } = g.takeChanges();
      g.admit(T1, A, at(COOLDOWN));
      g.finish(T1, A, "success", at(COOLDOWN), true);
      expect(openedNow[0]).toStrictEqual(
        snapshot({ state: "open", consecutiveFailures: 3, openedAt: at(0), openUntil: at(COOLDOWN), lastFailureAt: at(0) }),
      );
      expect(Object.keys(openedNow[0]!).sort()).toEqual(
        ["consecutiveFailures", "lastFailureAt", "lastSuccessAt", "openUntil", "openedAt", "origin", "state", "tenantId"].sort(),
      );
    });

    it("a success on a healthy breaker is not a change to persist", () => {
      const g = gate();
      g.admit(T1, A, at(0));
      g.finish(T1, A, "success", at(1));
      expect(g.takeChanges()).toStrictEqual({ changed: [], opened: [] });
    });

    it("a success after failures is a change", () => {
      const g = gate();
      fail(g, T1, A, 1, at(0));
      g.takeChanges();
      g.admit(T1, A, at(1));
      g.finish(T1, A, "success", at(2));
      expect(g.takeChanges().changed).toStrictEqual([snapshot({ lastSuccessAt: at(2), lastFailureAt: at(0) })]);
    });
  });
});
