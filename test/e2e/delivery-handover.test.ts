import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Relay } from "../../src/relay.js";
import { startWorld, type TestWorld } from "../support/relay-harness.js";
import { waitFor } from "../support/wait-for.js";

// The messages of an event are created leased to the process whose poll saw it, which sends them with no claim.

/** Deliveries the delivery loop's own claims took so far (the claim batch sizes' sum). */
async function claimedByDeliveryLoop(relay: Relay): Promise<number> {
  const text = await relay.deps.metrics.scrape();
  const line = /^rendley_relay_claim_batch_size_sum\{loop="delivery"\} (\S+)$/m.exec(text);
  return Number(line?.[1] ?? 0);
}

const rowsOf = (world: TestWorld, watchId: string) =>
  world.relay.deps.db.rows<{ locked_by: string | null; claim_seq: number; total_attempts: number; status: string }>(
    sql`select locked_by, claim_seq, total_attempts, status from deliveries where watch_id = ${watchId}`,
  );

describe("deliveries handed over by the poll that saw the event", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld({ env: { DELIVERY_PER_ORIGIN_CONCURRENCY: "1" } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("sends the final event without a claim: the row is created leased to this worker, which delivers it", async () => {
    const claimsBefore = await claimedByDeliveryLoop(world.relay);
    const jobId = world.rendley.addJob({ steps: ["queued", "completed"] });
    // The callback is held a moment, so the row can be read while it is on its way.
    world.receiver.respond((req) => (req.body?.data?.job_id === jobId ? { delayMs: 1_000 } : undefined));
    try {
      const watch = await world.watch({ job_id: jobId });
      await waitFor(() => world.receiver.received.some((r) => r.body?.data?.job_id === jobId), {
        message: "callback on its way",
      });
      expect(await rowsOf(world, watch.id)).toEqual([
        { locked_by: world.relay.delivery.workerId, claim_seq: 1, total_attempts: 1, status: "pending" },
      ]);
      await world.waitForWatch(watch.id, (w) => w.status === "delivered");
      expect(await rowsOf(world, watch.id)).toEqual([{ locked_by: null, claim_seq: 1, total_attempts: 1, status: "delivered" }]);
      expect(await claimedByDeliveryLoop(world.relay)).toBe(claimsBefore);
    } finally {
      world.receiver.respond({});
    }
  });

  it("builds one body for the watches of a job: each its own webhook-id and watch fields, each verifies; past the origin's cap they go through the claim", async () => {
    const claimsBefore = await claimedByDeliveryLoop(world.relay);
    const jobId = world.rendley.addJob({ steps: ["queued", "completed"] });
    const watches = await Promise.all(
      [1, 2, 3].map((i) =>
        world.watch({ job_id: jobId, metadata: { order: i }, callback_url: world.receiver.url(`/hook/${i}`) }),
      ),
    );
    for (const w of watches) await world.waitForWatch(w.id, (x) => x.status === "delivered");
    const callbacks = watches.map((w) => world.receiver.received.filter((r) => r.body?.data?.watch_id === w.id));
    for (const [i, cbs] of callbacks.entries()) {
      expect(cbs).toHaveLength(1);
      expect(cbs[0]!.verified).toBe(true); // standardwebhooks, against the raw body
      expect(cbs[0]!.body.data.metadata).toEqual({ order: i + 1 });
    }
    expect(new Set(callbacks.map((cbs) => cbs[0]!.webhookId)).size).toBe(3);
    // Apart from the watch's own fields, the three bodies are the same bytes.
    const common = callbacks.map((cbs) => {
      const { data } = cbs[0]!.body;
      return cbs[0]!.rawBody.replace(JSON.stringify(data.watch_id), '"…"').replace(JSON.stringify(data.metadata), "{}");
    });
    expect(new Set(common).size).toBe(1);
    expect(callbacks[0]![0]!.body.data.job).toMatchObject({ id: jobId, status: "completed" });
    // One origin, at most one request to it at a time: one message was handed over, the others claimed.
    expect(await claimedByDeliveryLoop(world.relay)).toBeGreaterThanOrEqual(claimsBefore + 2);
  });
});

describe("a relay without the delivery role", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld({ relay: { roles: { delivery: false } } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("creates the messages unleased and due, and the claim (of any process) sends them", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued", "completed"] });
    const watch = await world.watch({ job_id: jobId });
    await world.waitForWatch(watch.id, (w) => w.status === "delivering");
    expect(await rowsOf(world, watch.id)).toEqual([{ locked_by: null, claim_seq: 0, total_attempts: 0, status: "pending" }]);
    expect(await world.relay.delivery.runOnce()).toBe(1); // one claim round: claim, send, write back
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    expect(await rowsOf(world, watch.id)).toEqual([{ locked_by: null, claim_seq: 1, total_attempts: 1, status: "delivered" }]);
    expect(world.receiver.received.filter((r) => r.body?.data?.watch_id === watch.id).map((r) => r.verified)).toEqual([true]);
  });
});
