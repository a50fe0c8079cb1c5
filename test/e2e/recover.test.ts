import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type TestWorld } from "../support/relay-harness.js";

describe("POST /v1/deliveries/recover", () => {
  let world: TestWorld;
  beforeAll(async () => {
    // Schedule 50ms,50ms,50ms: four attempts, then the delivery and the watch fail.
    world = await startWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  const recover = (json: unknown) => world.api("/v1/deliveries/recover", { method: "POST", json });

  it("refuses invalid bodies with 400 and re-queues nothing", async () => {
    const now = Date.now();
    const iso = (offsetMs: number) => new Date(now + offsetMs).toISOString();
    const cases: Array<[string, unknown, string]> = [
      ["no since", {}, "since"],
      ["since not a timestamp", { since: "yesterday" }, "since"],
      ["since without a time zone", { since: "2026-01-01T00:00:00" }, "since"],
      ["since a number", { since: now }, "since"],
      ["until not a timestamp", { since: iso(-60_000), until: "2026-13-01T00:00:00Z" }, "until"],
      ["since after until", { since: iso(-1_000), until: iso(-60_000) }, "since"],
      ["since equal to until", { since: iso(-1_000), until: iso(-1_000) }, "since"],
      ["since in the future (until defaults to now)", { since: iso(3_600_000) }, "since"],
      ["unknown field", { since: iso(-60_000), watch_id: "wch_1" }, "body"],
      ["not an object", [iso(-60_000)], "body"],
    ];
    for (const [name, body, path] of cases) {
      const res = await recover(body);
      expect(res.status, name).toBe(400);
      expect(res.body.error.code, name).toBe("validation_failed");
      expect(
        res.body.error.details.map((d: { path: string }) => d.path),
        name,
      ).toContain(path);
    }
    const notJson = await world.api("/v1/deliveries/recover", {
      method: "POST",
      body: "{nope",
      headers: { "content-type": "application/json" },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe("invalid_json");
    const noAuth = await world.api("/v1/deliveries/recover", {
      method: "POST",
      json: { since: iso(-60_000) },
      headers: { authorization: "Bearer wrong-key-0123456789" },
    });
    expect(noAuth.status).toBe(401);
  });

  it("re-sends a failed watch's event with the same webhook-id once the receiver is back", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    let status = 500;
    world.receiver.respond((req) => (req.body?.data?.job_id === jobId ? { status } : undefined));
    const since = new Date(Date.now() - 1_000).toISOString();
    const watch = await world.watch({ job_id: jobId });
    const failed = await world.waitForWatch(watch.id, (w) => w.status === "failed");
    const webhookId = failed.deliveries[0].id;
    expect(failed.deliveries[0].attempts).toHaveLength(4);

    // A window that ends before the failure re-queues nothing.
    const before = await recover({ since: new Date(Date.parse(since) - 60_000).toISOString(), until: since });
    expect(before).toMatchObject({ status: 202, body: { data: { queued: 0 } } });

    status = 200;
    const res = await recover({ since });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ data: { queued: 1 } });

    const delivered = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const callbacks = world.receiver.byWebhookId(webhookId);
    expect(callbacks.map((c) => c.status)).toEqual([500, 500, 500, 500, 200]);
    expect(callbacks.every((c) => c.verified)).toBe(true);
    expect(delivered.deliveries[0]).toMatchObject({ id: webhookId, status: "delivered" });
    const attempts = delivered.deliveries[0].attempts;
    expect(attempts).toHaveLength(5);
    expect(attempts.at(-1)).toMatchObject({ attempt: 5, trigger: "manual", status_code: 200 });

    // Delivered now: recovering the same window again finds nothing failed.
    expect((await recover({ since })).body).toEqual({ data: { queued: 0 } });
  });
});
