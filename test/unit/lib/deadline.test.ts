import { describe, expect, it, vi } from "vitest";
import { deadline } from "../../../src/lib/deadline.js";
import { waitFor } from "../../support/wait-for.js";

describe("deadline", () => {
  it("aborts at the deadline with a TimeoutError and says so", async () => {
    const limit = deadline(20);
    await waitFor(() => limit.signal.aborted, { timeoutMs: 2_000, message: "aborted at the deadline" });
    expect(limit.timedOut).toBe(true);
    expect((limit.signal.reason as DOMException).name).toBe("TimeoutError");
    limit.done();
  });

  it("aborts with the parent, with the parent's reason, and that is not a timeout", () => {
    const parent = new AbortController();
    const limit = deadline(60_000, parent.signal);
    parent.abort(new Error("stopping"));
    expect(limit.signal.aborted).toBe(true);
    expect((limit.signal.reason as Error).message).toBe("stopping");
    expect(limit.timedOut).toBe(false);
    limit.done();
  });

  it("starts aborted under a parent that already was", () => {
    const parent = new AbortController();
    parent.abort();
    const limit = deadline(60_000, parent.signal);
    expect(limit.signal.aborted).toBe(true);
    limit.done();
  });

  it("once done, neither the deadline nor the parent aborts it, and the parent keeps no listener", async () => {
    const parent = new AbortController();
    const add = vi.spyOn(parent.signal, "addEventListener");
    const remove = vi.spyOn(parent.signal, "removeEventListener");
    const limit = deadline(10, parent.signal);
    limit.done();
    expect(add).toHaveBeenCalledTimes(1);
    expect(remove).toHaveBeenCalledWith("abort", add.mock.calls[0]![1]);
    // Past the deadline, and the parent aborts: the finished request's signal stays quiet.
    const later = deadline(30);
    await waitFor(() => later.signal.aborted, { timeoutMs: 2_000, message: "a later deadline passed" });
    later.done();
    parent.abort();
    expect(limit.signal.aborted).toBe(false);
    expect(limit.timedOut).toBe(false);
  });
});
