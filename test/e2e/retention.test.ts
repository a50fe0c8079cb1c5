import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ts } from "../../src/db/sql-values.js";
import { startWorld, type TestWorld } from "../support/relay-harness.js";

describe("retention", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld({ env: { RETENTION_DAYS: "1" } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("prunes finished watches past RETENTION_DAYS with their deliveries and attempts, and keeps the rest", async () => {
    const oldJob = world.rendley.addJob({ steps: ["completed"] });
    const freshJob = world.rendley.addJob({ steps: ["completed"] });
    const liveJob = world.rendley.addJob({ steps: ["processing"] });
    const old = await world.watch({ job_id: oldJob });
    const fresh = await world.watch({ job_id: freshJob });
    const live = await world.watch({ job_id: liveJob });
    await world.waitForWatch(old.id, (w) => w.status === "delivered");
    await world.waitForWatch(fresh.id, (w) => w.status === "delivered");
    const { db } = world.relay.deps;
    // Two days pass for the old watch and the live one; the fresh one finished just now.
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await db.rows(sql`update watches set updated_at = ${ts(twoDaysAgo)} where id in (${old.id}, ${live.id})`);

    const pass = await world.relay.maintenance.runOnce();
    expect(pass).toMatchObject({ ran: true, watches: 1, deliveries: 1, attempts: 1, polls: 1 });
    expect((await world.api(`/v1/watches/${old.id}`)).status).toBe(404);
    expect((await world.api(`/v1/watches/${fresh.id}`)).body.data.status).toBe("delivered");
    expect((await world.api(`/v1/watches/${live.id}`)).body.data.status).toBe("watching");
    const left = await db.rows<{ n: number }>(sql`select count(*)::int as n from deliveries where watch_id = ${old.id}`);
    expect(left).toEqual([{ n: 0 }]);
    // A second pass finds nothing more.
    expect(await world.relay.maintenance.runOnce()).toMatchObject({ ran: true, watches: 0 });
  });
});
