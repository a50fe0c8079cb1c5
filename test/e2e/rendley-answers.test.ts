import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type TestWorld } from "../support/relay-harness.js";
import { DRIVERS } from "../support/test-db.js";

const callbacksOf = (world: TestWorld, watchId: string) =>
  world.receiver.received.filter((r) => r.body?.data?.watch_id === watchId);

/** Answers as Rendley really sends them (its API reference and its own clients), not only as its polling page shows. */
describe.concurrent.each(DRIVERS)("answers as Rendley sends them (%s)", (driver) => {
  let world: TestWorld;
  beforeAll(async () => {
    // Backoff can grow to 4 s here, and a final event older than 300 ms is re-read before a retry.
    world = await startWorld({ driver, env: { POLL_MAX_INTERVAL_MS: "4000", RESULT_REFRESH_AFTER_MS: "300" } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("`cancelled` is the terminal canceled: job.canceled, data.status canceled, data.job exactly as received", async () => {
    const jobId = world.rendley.addJob({ steps: ["processing", { status: "cancelled", extra: { canceled_by: "usr_1" } }] });
    const watch = await world.watch({ job_id: jobId });
    const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    expect(done.job_status).toBe("canceled");
    const [cb, ...more] = callbacksOf(world, watch.id);
    expect(more).toHaveLength(0);
    expect(cb!.body).toMatchObject({ type: "job.canceled", data: { status: "canceled", service: "api", error: null } });
    expect(cb!.body.data.job).toEqual(world.rendley.job(jobId));
    expect(cb!.body.data.job).toMatchObject({ status: "cancelled", canceled_by: "usr_1" });
  });

  it("an error object: data.error is its message, data.job.error stays the object", async () => {
    const error = { message: "The project has no clips", code: "EMPTY_PROJECT" };
    const jobId = world.rendley.addJob({ steps: [{ status: "failed", error }] });
    const watch = await world.watch({ job_id: jobId });
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const [cb] = callbacksOf(world, watch.id);
    expect(cb!.body).toMatchObject({
      type: "job.failed",
      data: { status: "failed", error: "The project has no clips", job: { error } },
    });
  });

  it("an unknown status keeps the watch watching, backing off, counted and logged once; the job is never lost", async () => {
    const jobId = world.rendley.addJob({
      steps: ["processing", "archived", "archived", "archived", { status: "completed", extra: { archived: false } }],
    });
    const watch = await world.watch({ job_id: jobId, events: ["job.processing", "job.completed"] });
    const stuck = await world.waitForWatch(watch.id, (w) => w.last_error === "upstream_unknown_status:archived");
    expect(stuck).toMatchObject({ status: "watching", job_status: "processing", job: { status: "archived" } });

    const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered", 20_000);
    expect(done.last_error).toBeNull();
    expect(callbacksOf(world, watch.id).map((c) => c.body.type)).toEqual(["job.processing", "job.completed"]);
    expect(callbacksOf(world, watch.id)[1]!.body.data.job).toMatchObject({ status: "completed", archived: false });

    // Polls backed off across the unknown answers (1 s, then ×1.5 each time).
    const times = world.rendley.pollTimes(jobId);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps.length).toBeGreaterThanOrEqual(4);
    expect(gaps[3]!).toBeGreaterThan(gaps[1]! * 1.2);

    const metrics = await (await fetch(`${world.relay.url}/metrics`)).text();
    expect(metrics).toMatch(/rendley_relay_upstream_unknown_statuses_total\{status="archived"\} 3\b/);
    expect(metrics).toMatch(/rendley_relay_polls_total\{outcome="unknown_status"\} [3-9]/);
    const logged = world.logs.filter((l) => l.includes("status the relay does not know") && l.includes('"status":"archived"'));
    expect(logged).toHaveLength(1);
  });

  it("an unknown status is cut to 32 printable characters in last_error", async () => {
    const jobId = world.rendley.addJob({ steps: ["on hold\u0007 pending review by a human moderator"] });
    const watch = await world.watch({ job_id: jobId });
    const stuck = await world.waitForWatch(watch.id, (w) => w.last_error?.startsWith("upstream_unknown_status:"));
    expect(stuck.last_error).toBe("upstream_unknown_status:onholdpendingreviewbyahumanmoder");
    expect(stuck.status).toBe("watching");
    await world.api(`/v1/watches/${watch.id}`, { method: "DELETE" });
  });

  it("extra fields pass through; a late retry re-reads output.url, a time-limited link", async () => {
    const jobId = world.rendley.addJob({
      steps: [{ status: "completed", output: true, extra: { credits_used: 3, timings: { render_ms: 8123 } } }],
    });
    let n = 0;
    world.receiver.respond((req) => (req.body?.data?.job_id === jobId && ++n === 1 ? { status: 500 } : undefined));
    const watch = await world.watch({ job_id: jobId, retry_schedule: "600ms" });
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const [first, second] = callbacksOf(world, watch.id);
    expect(first!.body.data.job).toMatchObject({ credits_used: 3, timings: { render_ms: 8123 } });
    const [url1, url2] = [first!.body.data.job.output.url, second!.body.data.job.output.url];
    expect(url1).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/media\//);
    expect(url2).not.toBe(url1); // presigned afresh for the late attempt
    expect(second!.body.data.job.output.url_expires_at).toEqual(expect.any(String));
    expect(second!.webhookId).toBe(first!.webhookId);
    expect(second!.verified).toBe(true);
  });
});
