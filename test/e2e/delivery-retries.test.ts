import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DRIVERS } from "../support/test-db.js";
import { startWorld, type TestWorld } from "../support/relay-harness.js";

const callbacksOf = (world: TestWorld, watchId: string) =>
  world.receiver.received.filter((r) => r.body?.data?.watch_id === watchId);

describe.each(DRIVERS)("delivery retries, give-up and redelivery (%s)", (driver) => {
  let world: TestWorld;
  beforeAll(async () => {
    // Schedule 50ms,50ms,50ms: four attempts in all.
    world = await startWorld({ driver });
  });
  afterAll(async () => {
    await world?.close();
  });

  /** Answers callbacks of this job with `status` (others with 200). */
  const failFor = (jobId: string, status: () => number) =>
    world.receiver.respond((req) => (req.body?.data?.job_id === jobId ? { status: status() } : undefined));

  it("retries on 5xx with the same webhook-id and body, every attempt signed", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    let n = 0;
    failFor(jobId, () => (++n <= 2 ? 503 : 200));
    const watch = await world.watch({ job_id: jobId });
    const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const cbs = callbacksOf(world, watch.id);
    expect(cbs.map((c) => c.status)).toEqual([503, 503, 200]);
    expect(new Set(cbs.map((c) => c.webhookId)).size).toBe(1);
    expect(cbs.every((c) => c.verified)).toBe(true);
    expect(cbs.map((c) => c.rawBody)).toEqual([cbs[0]!.rawBody, cbs[0]!.rawBody, cbs[0]!.rawBody]);
    expect(done.deliveries[0].attempts.map((a: any) => [a.attempt, a.status_code, a.error])).toEqual([
      [1, 503, "status"],
      [2, 503, "status"],
      [3, 200, null],
    ]);
  });

  it("stops at once on 410 Gone: the watch fails with the reason", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    failFor(jobId, () => 410);
    const watch = await world.watch({ job_id: jobId });
    const done = await world.waitForWatch(watch.id, (w) => w.status === "failed");
    expect(callbacksOf(world, watch.id)).toHaveLength(1);
    expect(done.deliveries[0]).toMatchObject({ status: "failed", last_error: expect.stringContaining("410") });
    expect(done.last_error).toMatch(/410/);
  });

  it("gives up after the schedule, then redelivers the same event on request", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    let status = 500;
    failFor(jobId, () => status);
    const watch = await world.watch({ job_id: jobId });
    const failed = await world.waitForWatch(watch.id, (w) => w.status === "failed");
    expect(callbacksOf(world, watch.id)).toHaveLength(4);
    expect(failed.deliveries[0].last_error).toMatch(/exhausted: 4 attempts, last status 500/);

    status = 200;
    const res = await world.api(`/v1/watches/${watch.id}/redeliver`, { method: "POST" });
    expect(res.status).toBe(202);
    expect(res.body.data.status).toBe("delivering");
    const delivered = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const cbs = callbacksOf(world, watch.id);
    expect(cbs).toHaveLength(5);
    expect(new Set(cbs.map((c) => c.webhookId)).size).toBe(1);
    expect(cbs.at(-1)!.verified).toBe(true);
    const attempts = delivered.deliveries[0].attempts;
    expect(attempts).toHaveLength(5);
    expect(attempts.at(-1)).toMatchObject({ attempt: 5, trigger: "manual", status_code: 200 });
    expect(attempts.slice(0, 4).every((a: any) => a.trigger === "scheduled")).toBe(true);
  });

  it("counts a refused connection as a failed attempt and retries", async () => {
    // A port nothing listens on: bind, note the port, close.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    const watch = await world.watch({ job_id: jobId, callback_url: `http://127.0.0.1:${deadPort}/hook` });
    const failed = await world.waitForWatch(watch.id, (w) => w.status === "failed");
    expect(failed.deliveries[0].attempts.map((a: any) => a.error)).toEqual(Array(4).fill("connection_refused"));
  });

  it("never follows a redirect: the target receives nothing and the attempt records it", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    const target = world.receiver.url(`/redirected-${jobId}`);
    let redirected = 0;
    const redirector: Server = createServer((req, res) => {
      redirected++;
      res.writeHead(307, { location: target }).end();
    });
    await new Promise<void>((r) => redirector.listen(0, "127.0.0.1", r));
    try {
      const port = (redirector.address() as AddressInfo).port;
      const watch = await world.watch({ job_id: jobId, callback_url: `http://127.0.0.1:${port}/hook` });
      const failed = await world.waitForWatch(watch.id, (w) => w.status === "failed");
      expect(redirected).toBe(4);
      expect(world.receiver.received.filter((r) => r.path === `/redirected-${jobId}`)).toHaveLength(0);
      expect(failed.deliveries[0].attempts.map((a: any) => [a.status_code, a.error])).toEqual(Array(4).fill([307, "redirect"]));
    } finally {
      redirector.closeAllConnections();
      await new Promise<void>((r) => redirector.close(() => r()));
    }
  });

  it("times out a receiver that stalls past DELIVERY_TIMEOUT_MS and retries", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    let n = 0;
    world.receiver.respond((req) => (req.body?.data?.job_id === jobId && ++n === 1 ? { delayMs: 5_000 } : undefined));
    const watch = await world.watch({ job_id: jobId });
    const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const [first, second] = done.deliveries[0].attempts;
    expect(first).toMatchObject({ status_code: null, error: "timeout" });
    expect(first.duration_ms).toBeGreaterThanOrEqual(1_900);
    expect(first.duration_ms).toBeLessThan(3_000);
    expect(second).toMatchObject({ status_code: 200, error: null });
  });
});
