import { describe, expect, it } from "vitest";
import type { WatchOnJob } from "../../../src/domain/delivery.js";
import type { EventBody } from "../../../src/domain/events.js";
import type { UpstreamJob } from "../../../src/domain/job.js";
import type { PollUpdate } from "../../../src/domain/poll.js";
import { planFanOut } from "../../../src/scheduler/plan-fan-out.js";

const at = new Date(Date.UTC(2026, 0, 1, 12));
const job = (status: UpstreamJob["status"]): UpstreamJob => ({ id: "job_1", status, type: "export", result_data: '{"url":"u"}' });

function update(event: PollUpdate["event"], overrides: Partial<PollUpdate> = {}): PollUpdate {
  return {
    id: "pol_1",
    tenantId: "ten_1",
    jobId: "job_1",
    claimSeq: 3,
    status: "active",
    nextPollAt: at,
    intervalMs: 1000,
    notFoundCount: 0,
    errorCount: 0,
    lastError: null,
    polled: 1,
    observedAt: at,
    ...(event ? { event } : {}),
    ...overrides,
  };
}

function watch(id: string, events: string[], overrides: Partial<WatchOnJob> = {}): WatchOnJob {
  return {
    id,
    tenantId: "ten_1",
    jobId: "job_1",
    callbackUrl: "https://r.example:8443/hook?x=1",
    metadata: { order: 7 },
    retryScheduleMs: null,
    callbackHeaders: null,
    pollId: "pol_1",
    events,
    ...overrides,
  };
}

const ids = () => {
  let n = 0;
  return { newDeliveryId: () => `msg_${++n}` };
};

describe("planFanOut", () => {
  it("sends a terminal event to the watches that subscribed to it and settles the others without a message", () => {
    const out = planFanOut(
      [update({ type: "job.completed" }, { status: "done", job: job("completed") })],
      [watch("w_all", ["job.completed", "job.failed"]), watch("w_failed_only", ["job.failed"])],
      ids(),
    );
    expect(out.transitions).toEqual([
      { watchId: "w_all", status: "delivering", lastError: null },
      { watchId: "w_failed_only", status: "delivered", lastError: null },
    ]);
    expect(out.deliveries).toHaveLength(1);
    const [d] = out.deliveries;
    expect(d).toMatchObject({
      id: "msg_1",
      tenantId: "ten_1",
      watchId: "w_all",
      event: "job.completed",
      rank: 1,
      origin: "https://r.example:8443",
      jobFetchedAt: at,
    });
    const body = JSON.parse(d!.body) as EventBody;
    expect(body).toMatchObject({
      type: "job.completed",
      timestamp: at.toISOString(),
      data: { watch_id: "w_all", job_id: "job_1", status: "completed", result: { url: "u" }, metadata: { order: 7 } },
    });
  });

  it("sends job.processing only to subscribers and moves no watch on", () => {
    const out = planFanOut(
      [update({ type: "job.processing" }, { job: job("processing") })],
      [watch("w_progress", ["job.processing", "job.completed"]), watch("w_final", ["job.completed"])],
      ids(),
    );
    expect(out.deliveries.map((d) => [d.watchId, d.event, d.rank])).toEqual([["w_progress", "job.processing", 0]]);
    expect(out.transitions).toEqual([]);
  });

  it("sends watch.expired to every watch, whatever it subscribed to, and expires them with the reason", () => {
    const out = planFanOut(
      [update({ type: "watch.expired", reason: "job_not_found" }, { status: "expired" })],
      [watch("w1", ["job.completed"]), watch("w2", ["job.processing"])],
      ids(),
    );
    expect(out.deliveries.map((d) => [d.watchId, d.event, d.jobFetchedAt])).toEqual([
      ["w1", "watch.expired", null],
      ["w2", "watch.expired", null],
    ]);
    expect(JSON.parse(out.deliveries[0]!.body)).toMatchObject({ data: { status: null, job: null, reason: "job_not_found" } });
    expect(out.transitions).toEqual([
      { watchId: "w1", status: "expired", lastError: "job_not_found" },
      { watchId: "w2", status: "expired", lastError: "job_not_found" },
    ]);
  });

  it("carries each watch's own retry schedule and headers, and leaves watches of other polls and updates without an event alone", () => {
    const out = planFanOut(
      [
        update({ type: "job.failed" }, { id: "pol_1", status: "done", job: { ...job("failed"), error: "boom" } }),
        update(undefined, { id: "pol_2" }),
      ],
      [
        watch("w1", ["job.failed"], { retryScheduleMs: [10, 20], callbackHeaders: { "X-Team": "a" } }),
        watch("w_quiet", ["job.failed"], { pollId: "pol_2" }),
        watch("w_other", ["job.failed"], { pollId: "pol_9" }),
      ],
      ids(),
    );
    expect(out.deliveries).toHaveLength(1);
    expect(out.deliveries[0]).toMatchObject({ watchId: "w1", retryScheduleMs: [10, 20], extraHeaders: { "X-Team": "a" } });
    expect(JSON.parse(out.deliveries[0]!.body)).toMatchObject({ data: { error: "boom" } });
    expect(out.transitions.map((t) => t.watchId)).toEqual(["w1"]);
  });

  it("serialises each job once per event, whatever the number of watches on it; each body carries its watch's own fields", () => {
    const serialised: string[] = [];
    const counted = (id: string): UpstreamJob => {
      const plain = { ...job("completed"), id };
      return { ...plain, toJSON: () => (serialised.push(id), plain) };
    };
    const out = planFanOut(
      [
        update({ type: "job.completed" }, { id: "pol_1", status: "done", job: counted("job_1") }),
        update({ type: "job.completed" }, { id: "pol_2", jobId: "job_2", status: "done", job: counted("job_2") }),
      ],
      [
        watch("w1", ["job.completed"], { metadata: { n: 1 } }),
        watch("w2", ["job.completed"], { metadata: null, subscriptionId: "sub_1" }),
        watch("w3", ["job.completed"], { metadata: { n: 3 } }),
        watch("w4", ["job.completed"], { pollId: "pol_2", jobId: "job_2" }),
      ],
      ids(),
    );
    expect(serialised.sort()).toEqual(["job_1", "job_2"]);
    const bodies = out.deliveries.map((d) => JSON.parse(d.body) as EventBody);
    expect(bodies.map((b) => [b.data.watch_id, b.data.job_id, b.data.metadata, b.data.subscription_id])).toEqual([
      ["w1", "job_1", { n: 1 }, undefined],
      ["w2", "job_1", null, "sub_1"],
      ["w3", "job_1", { n: 3 }, undefined],
      ["w4", "job_2", { order: 7 }, undefined],
    ]);
    expect(new Set(out.deliveries.map((d) => d.id)).size).toBe(4); // one message, and webhook-id, per watch
  });
});
