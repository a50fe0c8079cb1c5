import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/lib/logger.js";
import { createWorkerLoop } from "../../src/lib/worker-loop.js";
import { waitFor } from "../support/wait-for.js";

type Result = { id: number; kind: "done" | "released" | "crashed" };

/** SIGTERM's first step, on the loop itself: claimed work that has not started is handed back at once, not run. */
describe("stopping a worker loop", () => {
  it("stops claiming and lets the work in flight finish within the grace period", async () => {
    const acked: Result[] = [];
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    let claims = 0;
    let claimsAtStop = -1;
    const loop = createWorkerLoop<number, Result>({
      name: "test",
      concurrency: 4,
      idleMs: 5,
      logger: createLogger({ level: "silent" }),
      claim: async () => (claims++ === 0 ? [1] : []),
      async process(id) {
        await gate;
        return { id, kind: "done" };
      },
      onCrash: (id) => ({ id, kind: "crashed" }),
      release: (id) => ({ id, kind: "released" }),
      ack: async (results) => void acked.push(...results),
    });
    loop.start();
    await waitFor(() => claims >= 2); // item 1 in flight, the loop idling
    const stopped = loop.stop(5_000);
    claimsAtStop = claims;
    setTimeout(finish, 50);
    await stopped;
    expect(acked).toEqual([{ id: 1, kind: "done" }]);
    expect(claims).toBe(claimsAtStop);
  });

  it("hands back at once the items a claim returned after the stop began", async () => {
    const acked: Result[] = [];
    let release!: (items: number[]) => void;
    const slowClaim = new Promise<number[]>((resolve) => (release = resolve));
    const processed: number[] = [];
    const loop = createWorkerLoop<number, Result>({
      name: "test",
      concurrency: 2,
      idleMs: 5,
      logger: createLogger({ level: "silent" }),
      claim: () => slowClaim, // the database answers only after SIGTERM arrived
      async process(id) {
        processed.push(id);
        return { id, kind: "done" };
      },
      onCrash: (id) => ({ id, kind: "crashed" }),
      release: (id) => ({ id, kind: "released" }),
      ack: async (results) => void acked.push(...results),
    });
    loop.start();
    const stopped = loop.stop(5_000);
    release([7, 8]);
    await stopped;
    expect(processed).toEqual([]);
    expect(acked).toEqual([
      { id: 7, kind: "released" },
      { id: 8, kind: "released" },
    ]);
  });
});
