import { describe, expect, it } from "vitest";
import { createAckBatcher, type AckBatcher } from "../../../src/lib/ack-batcher.js";
import { waitFor } from "../../support/wait-for.js";

// A fake `ack` stands in for the database write; every call and callback is recorded.

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function gate() {
  let open!: () => void;
  let fail!: (error: unknown) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

interface Overrides {
  /** Runs inside each ack call (1-based `call`); throwing or rejecting fails it; a number is what it "wrote". */
  ack?: (batch: number[], call: number) => Promise<void | number> | void | number;
  retryDelayMs?: number;
  givingUp?: () => boolean;
  landed?: (count: number) => void;
}

function harness(overrides: Overrides = {}) {
  const calls: number[][] = [];
  const callTimes: number[] = [];
  const landed: number[] = [];
  const written: number[] = [];
  const failures: { message: string; contiguousErrors: number }[] = [];
  let inAck = 0;
  let maxInAck = 0;
  const batcher: AckBatcher<number> = createAckBatcher<number>({
    async ack(batch) {
      calls.push([...batch]);
      callTimes.push(Date.now());
      inAck++;
      maxInAck = Math.max(maxInAck, inAck);
      try {
        return await overrides.ack?.(batch, calls.length);
      } finally {
        inAck--;
      }
    },
    observe: {
      written(count, seconds) {
        expect(seconds).toBeGreaterThanOrEqual(0);
        written.push(count);
      },
    },
    landed(count) {
      landed.push(count);
      overrides.landed?.(count);
    },
    failed: (error) => failures.push({ message: error.message, contiguousErrors: batcher.contiguousErrors }),
    retryDelayMs: () => overrides.retryDelayMs ?? 0,
    givingUp: () => overrides.givingUp?.() ?? false,
  });
  return {
    batcher,
    calls,
    callTimes,
    landed,
    written,
    failures,
    get maxInAck() {
      return maxInAck;
    },
    landedTotal: () => landed.reduce((a, b) => a + b, 0),
  };
}

describe("createAckBatcher", () => {
  it("writes the first result at once and gathers those that arrive during that write into the next batch", async () => {
    const first = gate();
    const h = harness({ ack: (_batch, call) => (call === 1 ? first.promise : undefined) });
    h.batcher.add(1);
    expect(h.calls).toEqual([[1]]);
    h.batcher.add(2);
    h.batcher.add(3);
    expect(h.calls).toEqual([[1]]); // one flush at a time
    first.open();
    await waitFor(() => h.landedTotal() === 3, { message: "all three landed" });
    expect(h.calls).toEqual([[1], [2, 3]]);
    expect(h.landed).toEqual([1, 2]);
    expect(h.written).toEqual([1, 2]);
    expect(h.maxInAck).toBe(1);
  });

  it("retries a failed batch after retryDelayMs, ahead of the results that arrived meanwhile, so order holds", async () => {
    const first = gate();
    const h = harness({ retryDelayMs: 50, ack: (_batch, call) => (call === 1 ? first.promise : undefined) });
    h.batcher.add(1);
    h.batcher.add(2); // gathers behind the write in progress
    first.fail(new Error("write failed"));
    await waitFor(() => h.landedTotal() === 2, { message: "both landed" });
    expect(h.calls).toEqual([[1], [1, 2]]); // nothing lost, nothing written twice
    expect(h.landed).toEqual([2]);
    expect(h.written).toEqual([2]); // the failed write is not reported
    expect(h.failures).toEqual([{ message: "write failed", contiguousErrors: 1 }]);
    expect(h.callTimes[1]! - h.callTimes[0]!).toBeGreaterThanOrEqual(45);
    expect(h.batcher.contiguousErrors).toBe(0);
  });

  it("counts contiguous failed writes, back to 0 once one lands; whatever was thrown arrives as an Error", async () => {
    const h = harness({
      ack: (_batch, call) => {
        if (call <= 3) throw "database down";
      },
    });
    h.batcher.add(1);
    await waitFor(() => h.landedTotal() === 1, { message: "landed after three failures" });
    expect(h.failures).toEqual([
      { message: "database down", contiguousErrors: 1 },
      { message: "database down", contiguousErrors: 2 },
      { message: "database down", contiguousErrors: 3 },
    ]);
    expect(h.calls).toEqual([[1], [1], [1], [1]]);
    expect(h.batcher.contiguousErrors).toBe(0);
  });

  it("reports to observe.written what the ack says it wrote, nothing for a write of none; landed counts the whole batch", async () => {
    const h = harness({ ack: (batch) => (batch.includes(1) ? 0 : 1) });
    h.batcher.add(1);
    await waitFor(() => h.landedTotal() === 1, { message: "first batch landed" });
    h.batcher.add(2);
    await waitFor(() => h.landedTotal() === 2, { message: "second batch landed" });
    expect(h.written).toEqual([1]);
    expect(h.landed).toEqual([1, 1]);
  });

  it("gives up a failed batch while givingUp(), without retrying, and keeps its results for a later flush", async () => {
    let givingUp = true;
    const h = harness({
      givingUp: () => givingUp,
      ack: (_batch, call) => {
        if (call === 1) throw new Error("database gone");
      },
    });
    h.batcher.add(1);
    await waitFor(() => h.failures.length === 1, { message: "the write failed" });
    await pause(30); // with a retry delay of 0, a retry (or a rescheduled flush) would already have run
    expect(h.calls).toEqual([[1]]);
    expect(h.landed).toEqual([]);

    givingUp = false;
    h.batcher.add(2);
    await waitFor(() => h.landedTotal() === 2, { message: "both landed on the next flush" });
    expect(h.calls).toEqual([[1], [1, 2]]);
  });

  it("writes a result that arrives as a flush is finishing (after its last batch was taken)", async () => {
    let batcher!: AckBatcher<number>;
    let added = false;
    const h = harness({
      landed: () => {
        // The microtask runs once flush has found nothing left and returned, but before its `.finally`:
        // add() sees the flush still running and starts none.
        if (!added) queueMicrotask(() => batcher.add(2));
        added = true;
      },
    });
    batcher = h.batcher;
    h.batcher.add(1);
    await waitFor(() => h.landedTotal() === 2, { message: "the late result landed" });
    expect(h.calls).toEqual([[1], [2]]);
  });
});
