import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type TestWorld } from "../support/relay-harness.js";
import { waitFor } from "../support/wait-for.js";

const callbacksOf = (world: TestWorld, watchId: string) =>
  world.receiver.received.filter((r) => r.body?.data?.watch_id === watchId);
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

// Each test watches its own job, so they run side by side against one relay.
describe.concurrent("polling Rendley", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  it("sends the Rendley key as a bearer token and never polls a job faster than once a second", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued", "queued", "processing", "completed"] });
    const watch = await world.watch({ job_id: jobId });
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const polls = world.rendley.requests.filter((r) => r.path === `/v1/jobs/${jobId}`);
    expect(polls).toHaveLength(4);
    expect(polls.every((p) => p.headers.authorization === `Bearer ${world.rendley.apiKey}`)).toBe(true);
    expect(Math.min(...gaps(world.rendley.pollTimes(jobId)))).toBeGreaterThanOrEqual(950);
  });

  it("waits at least Retry-After after a 429", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued", "completed"] });
    world.rendley.enqueue(jobId, { status: 429, headers: { "retry-after": "3" } });
    const watch = await world.watch({ job_id: jobId });
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const times = world.rendley.pollTimes(jobId);
    expect(times).toHaveLength(3);
    expect(gaps(times)[0]).toBeGreaterThanOrEqual(2_900);
  });

  it("backs off through 5xx, timeouts and garbage bodies and keeps watching", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued", "completed"] });
    world.rendley.enqueue(
      jobId,
      { status: 500 },
      { status: 200, body: "<html>maintenance</html>" },
      { status: 200, json: { data: { id: jobId, status: "exploded" } } },
      { status: 200, delayMs: 3_000 }, // past UPSTREAM_TIMEOUT_MS
      { status: 502 },
    );
    const watch = await world.watch({ job_id: jobId });
    const mid = await world.waitForWatch(watch.id, (w) => w.last_error !== null);
    expect(mid.status).toBe("watching");
    const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered", 30_000);
    expect(done.job_status).toBe("completed");
    expect(world.rendley.polls(jobId)).toBe(7);
    expect(world.logs.some((l) => l.includes(jobId) && l.includes('"level":"error"'))).toBe(false);
    expect(Math.min(...gaps(world.rendley.pollTimes(jobId)))).toBeGreaterThanOrEqual(950);
    expect(callbacksOf(world, watch.id).map((c) => c.body.type)).toEqual(["job.completed"]);
  });

  it("expires a watch after three 404s in a row and sends watch.expired", async () => {
    const jobId = "job_does_not_exist";
    const watch = await world.watch({ job_id: jobId, metadata: { k: "v" } });
    const done = await world.waitForWatch(watch.id, (w) => w.status === "expired");
    expect(world.rendley.polls(jobId)).toBe(3);
    expect(done.last_error).toBe("job_not_found");
    await waitFor(() => callbacksOf(world, watch.id).length === 1);
    const [cb] = callbacksOf(world, watch.id);
    expect(cb!.verified).toBe(true);
    expect(cb!.body).toMatchObject({
      type: "watch.expired",
      data: { watch_id: watch.id, job_id: jobId, status: null, job: null, reason: "job_not_found", metadata: { k: "v" } },
    });
    await world.waitForWatch(watch.id, (w) => w.deliveries[0]?.status === "delivered");
  });

  it("keeps watching through a 404 that is followed by the job", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued", "completed"] });
    world.rendley.enqueue(jobId, { status: 404 }, { status: 404 });
    const watch = await world.watch({ job_id: jobId });
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    expect(world.rendley.polls(jobId)).toBe(4);
  });
});

describe("a Rendley key that is rejected", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  it("keeps every watch, reports not ready, and recovers when the key works again", async () => {
    const ready = await world.api("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body.data.checks).toEqual({ database: "ok", upstream_key: "accepted" });

    world.rendley.setOverride({ status: 401 });
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    const watch = await world.watch({ job_id: jobId });
    await waitFor(() => world.rendley.polls(jobId) >= 4, { timeoutMs: 10_000 });
    const still = await world.api(`/v1/watches/${watch.id}`);
    expect(still.body.data.status).toBe("watching");
    expect(still.body.data.last_error).toBe("upstream_unauthorized_401");
    const notReady = await world.api("/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.body.data).toEqual({ status: "not_ready", checks: { database: "ok", upstream_key: "rejected" } });
    expect(world.logs.some((l) => l.includes("Rendley rejected the tenant's API key"))).toBe(true);

    world.rendley.setOverride(null);
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    expect((await world.api("/readyz")).status).toBe(200);
  });
});
