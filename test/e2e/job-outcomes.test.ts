import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, TEST_SECRET, type TestWorld } from "../support/relay-harness.js";
import { DRIVERS } from "../support/test-db.js";
import { waitFor } from "../support/wait-for.js";

/** Callbacks for one watch, in arrival order. */
const callbacksOf = (world: TestWorld, watchId: string) =>
  world.receiver.received.filter((r) => r.body?.data?.watch_id === watchId);

describe.each(DRIVERS)("job outcomes reach the receiver, signed (%s)", (driver) => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld({ driver });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("delivers job.completed with the job verbatim, the parsed result and the metadata", async () => {
    const jobId = world.rendley.addJob({
      steps: [
        "queued",
        "processing",
        { status: "completed", result_data: { storage_url: "https://storage.rendley.com/x.mp4", media_id: "med_1" } },
      ],
    });
    const watch = await world.watch({ job_id: jobId, metadata: { order: 42, tags: ["a"] } });
    expect(watch).toMatchObject({
      job_id: jobId,
      status: "watching",
      events: ["job.completed", "job.failed", "job.canceled"],
      metadata: { order: 42, tags: ["a"] },
    });
    expect(watch.id).toMatch(/^wch_/);

    const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const [cb, ...more] = callbacksOf(world, watch.id);
    expect(more).toHaveLength(0); // processing was not subscribed
    expect(cb!.verified).toBe(true);
    expect(cb!.headers["content-type"]).toBe("application/json");
    expect(cb!.headers["user-agent"]).toMatch(/^rendley-relay\/\d+\.\d+\.\d+$/);
    expect(cb!.headers["webhook-id"]).toBe(done.deliveries[0].id);
    expect(cb!.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    // An independent verification with the reference package.
    expect(() => new Webhook(TEST_SECRET).verify(cb!.rawBody, cb!.headers)).not.toThrow();

    const job = world.rendley.job(jobId)!;
    expect(cb!.body).toEqual({
      type: "job.completed",
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: {
        watch_id: watch.id,
        job_id: jobId,
        service: "api",
        status: "completed",
        job,
        result: { storage_url: "https://storage.rendley.com/x.mp4", media_id: "med_1" },
        error: null,
        metadata: { order: 42, tags: ["a"] },
      },
    });
    expect(typeof cb!.body.data.job.input_data).toBe("string"); // stays a JSON string, verbatim
    expect(done).toMatchObject({ job_status: "completed", last_error: null });
    expect(done.job).toEqual(job);
    expect(done.deliveries[0]).toMatchObject({ event: "job.completed", status: "delivered", next_attempt_at: null });
    expect(done.deliveries[0].attempts).toEqual([
      {
        attempt: 1,
        trigger: "scheduled",
        at: expect.any(String),
        status_code: 200,
        duration_ms: expect.any(Number),
        error: null,
        response_excerpt: "ok",
        location: null,
      },
    ]);
  });

  it("delivers job.failed with the job's error", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued", { status: "failed", error: "media_unreachable" }] });
    const watch = await world.watch({ job_id: jobId });
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const [cb] = callbacksOf(world, watch.id);
    expect(cb!.verified).toBe(true);
    expect(cb!.body.type).toBe("job.failed");
    expect(cb!.body.data).toMatchObject({ status: "failed", error: "media_unreachable", result: null });
  });

  it("delivers job.canceled", async () => {
    const jobId = world.rendley.addJob({ steps: ["processing", "canceled"] });
    const watch = await world.watch({ job_id: jobId });
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    expect(callbacksOf(world, watch.id).map((c) => c.body.type)).toEqual(["job.canceled"]);
  });

  it("delivers a job that had already finished within seconds of registration", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    const started = Date.now();
    const watch = await world.watch({ job_id: jobId });
    await waitFor(() => callbacksOf(world, watch.id).length === 1, { timeoutMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(world.rendley.polls(jobId)).toBe(1);
  });

  it("calls back a watch registered after another watch of the same job was already delivered", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    const first = await world.watch({ job_id: jobId });
    await world.waitForWatch(first.id, (w) => w.status === "delivered");
    const second = await world.watch({ job_id: jobId });
    await world.waitForWatch(second.id, (w) => w.status === "delivered");
    expect(callbacksOf(world, second.id).map((c) => c.body.type)).toEqual(["job.completed"]);
    expect(callbacksOf(world, first.id)).toHaveLength(1);
    expect(world.rendley.polls(jobId)).toBe(2); // read again for the late watch: fresh result links
  });

  it("settles a watch whose outcome it did not subscribe to, without a callback", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    const watch = await world.watch({ job_id: jobId, events: ["job.failed"] });
    const done = await world.waitForWatch(watch.id, (w) => w.status !== "watching");
    expect(done).toMatchObject({ status: "delivered", job_status: "completed", deliveries: [] });
    expect(callbacksOf(world, watch.id)).toHaveLength(0);
  });

  it("sends job.processing before the final event, even when the processing callback needs a retry", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued", "processing", "completed"] });
    let failedOnce = false;
    world.receiver.respond((req) => {
      if (req.body?.data?.job_id === jobId && req.body.type === "job.processing" && !failedOnce) {
        failedOnce = true;
        return { status: 500 };
      }
      return undefined;
    });
    try {
      const watch = await world.watch({ job_id: jobId, events: ["job.processing", "job.completed"] });
      const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
      const seen = callbacksOf(world, watch.id).map((c) => `${c.body.type}:${c.status}`);
      expect(seen).toEqual(["job.processing:500", "job.processing:200", "job.completed:200"]);
      expect(done.deliveries.map((d: any) => d.event)).toEqual(["job.processing", "job.completed"]);
      expect(callbacksOf(world, watch.id).every((c) => c.verified)).toBe(true);
    } finally {
      world.receiver.respond({});
    }
  });

  it("shares one upstream poll stream between watches of the same job, and calls each back once", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued", "queued", "completed"] });
    const watches = await Promise.all(Array.from({ length: 5 }, (_, i) => world.watch({ job_id: jobId, metadata: { i } })));
    for (const w of watches) await world.waitForWatch(w.id, (x) => x.status === "delivered");
    expect(world.rendley.polls(jobId)).toBe(3); // one stream: queued, queued, completed
    const ids = new Set<string>();
    for (const [i, w] of watches.entries()) {
      const cbs = callbacksOf(world, w.id);
      expect(cbs).toHaveLength(1);
      expect(cbs[0]!.body.data.metadata).toEqual({ i });
      ids.add(cbs[0]!.webhookId!);
    }
    expect(ids.size).toBe(5); // one event message per watch
    const times = world.rendley.pollTimes(jobId);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(950);
  });

  it("gives a watch joining a job already seen processing its job.processing event", async () => {
    const jobId = world.rendley.addJob({ steps: ["processing"] });
    const first = await world.watch({ job_id: jobId, events: ["job.processing", "job.completed"] });
    await waitFor(() => callbacksOf(world, first.id).length === 1);
    const second = await world.watch({ job_id: jobId, events: ["job.processing", "job.completed"] });
    await waitFor(() => callbacksOf(world, second.id).length === 1);
    expect(callbacksOf(world, second.id)[0]!.body.type).toBe("job.processing");
    world.rendley.setJob(jobId, "completed");
    await world.waitForWatch(first.id, (w) => w.status === "delivered");
    await world.waitForWatch(second.id, (w) => w.status === "delivered");
    expect(callbacksOf(world, second.id).map((c) => c.body.type)).toEqual(["job.processing", "job.completed"]);
  });
});
