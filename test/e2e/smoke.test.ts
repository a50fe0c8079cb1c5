import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type TestWorld } from "../support/relay-harness.js";
import { waitFor } from "../support/wait-for.js";

describe("smoke", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  it("delivers a completed job", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued", "completed"] });
    const created = await world.api("/v1/watches", { method: "POST", json: { job_id: jobId, callback_url: world.receiver.url() } });
    expect(created.status, JSON.stringify(created.body) + world.logs.filter((l) => l.includes("error")).join("\n")).toBe(201);
    await waitFor(() => world.receiver.received.length >= 1, { timeoutMs: 10_000 });
    const cb = world.receiver.received[0]!;
    expect(cb.verified).toBe(true);
    expect(cb.body.type).toBe("job.completed");
    const watch = await waitFor(async () => {
      const r = await world.api(`/v1/watches/${created.body.data.id}`);
      return r.body.data.status === "delivered" ? r.body.data : undefined;
    });
    expect(watch.deliveries).toHaveLength(1);
    console.log(JSON.stringify(watch, null, 2));
  });
});
