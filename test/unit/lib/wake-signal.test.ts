import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createWakeSignal } from "../../../src/lib/wake-signal.js";

describe("createWakeSignal", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sleep resolves 'timer' when its time runs out", async () => {
    const wake = createWakeSignal();
    const slept = wake.sleep(200);
    await vi.advanceTimersByTimeAsync(199);
    let result: string | undefined;
    void slept.then((r) => (result = r));
    await Promise.resolve();
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(await slept).toBe("timer");
  });

  it("wake() ends a sleep at once with 'woken' and clears its timer", async () => {
    const wake = createWakeSignal();
    const slept = wake.sleep(10_000);
    expect(vi.getTimerCount()).toBe(1);
    wake.wake();
    expect(await slept).toBe("woken");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("keeps a wake-up that arrives while nothing sleeps: the next sleep returns at once, without a timer", async () => {
    const wake = createWakeSignal();
    wake.wake();
    const slept = wake.sleep(10_000);
    expect(vi.getTimerCount()).toBe(0);
    expect(await slept).toBe("woken");
  });

  it("a kept wake-up is used once, however many arrived", async () => {
    const wake = createWakeSignal();
    wake.wake();
    wake.wake();
    expect(await wake.sleep(50)).toBe("woken");
    const second = wake.sleep(50);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(await second).toBe("timer");
  });

  it("a wake-up after a sleep's timer ran out is kept for the next sleep", async () => {
    const wake = createWakeSignal();
    const first = wake.sleep(20);
    await vi.advanceTimersByTimeAsync(20);
    expect(await first).toBe("timer");
    wake.wake();
    expect(await wake.sleep(10_000)).toBe("woken");
  });
});
