import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { claimDueDeliveries } from "../../src/db/queries/claim-due-deliveries.js";
import { type ClaimedDelivery } from "../../src/domain/delivery.js";
import { recordDeliveryResults } from "../../src/db/queries/record-delivery-results.js";
import { decideDelivery, releaseDelivery } from "../../src/delivery/backoff.js";
import type { SendResult } from "../../src/domain/attempt.js";
import { createStorageFixture, type StorageFixture } from "../support/storage.js";
import { DRIVERS } from "../support/test-db.js";

const ok: SendResult = { ok: true, statusCode: 200, durationMs: 12, error: null };
const fail: SendResult = { ok: false, statusCode: 500, durationMs: 30, error: "status" };
const noJitter = { float: () => 0.5, bytes: (n: number) => Buffer.alloc(n) };

/** Storage-level proof of the write-back rules the chaos run relies on, on every driver. */
describe.each(DRIVERS)("delivery write-backs on %s", (driver) => {
  let f: StorageFixture;
  beforeEach(async () => {
    f = await createStorageFixture(driver);
  });
  afterEach(async () => {
    await f?.close();
  });

  const pendingDelivery = async (jobId: string) => {
    await f.watch(jobId);
    const polls = await f.claimPolls();
    await f.settlePolls(polls, (p) => (p.jobId === jobId ? { kind: "ok", job: { id: jobId, status: "completed" } } : undefined));
  };
  const claim = (workerId: string, now?: Date) => claimDueDeliveries(f.db, { workerId, limit: 10, now, leaseMs: 20_000 });
  const decide = (claimed: ClaimedDelivery[], result: SendResult) =>
    claimed.map((c) =>
      decideDelivery(c, result, { now: f.clock.now(), scheduleMs: [5_000], attemptStartedAt: f.clock.now(), random: noJitter }),
    );

  it("a stalled claimant whose lease expired cannot overwrite the newer claimant's result, before or after it", async () => {
    await pendingDelivery("job_a");
    const stalled = await claim("stalled", f.clock.now());
    f.clock.advance(20_001); // the lease ran out while the first process was paused
    const fresh = await claim("fresh", f.clock.now());
    expect(fresh.map((d) => d.claimSeq)).toEqual([stalled[0]!.claimSeq + 1]);
    // The stalled one wakes up first and reports a failure: fenced, the newer claim stands.
    expect((await recordDeliveryResults(f.db, decide(stalled, fail), f.clock.now())).size).toBe(0);
    expect(await f.rows(sql`select status, locked_by from deliveries`)).toEqual([{ status: "pending", locked_by: "fresh" }]);
    expect((await recordDeliveryResults(f.db, decide(fresh, ok), f.clock.now())).size).toBe(1);
    // …or after it: still fenced, the delivery stays delivered.
    expect((await recordDeliveryResults(f.db, decide(stalled, fail), f.clock.now())).size).toBe(0);
    expect(await f.rows(sql`select status from deliveries`)).toEqual([{ status: "delivered" }]);
  });

  it("an acknowledgement sent again (its answer was lost with the connection) applies once", async () => {
    await pendingDelivery("job_a");
    const claimed = await claim("d1", f.clock.now());
    const acks = decide(claimed, fail);
    expect((await recordDeliveryResults(f.db, acks, f.clock.now())).size).toBe(1);
    expect((await recordDeliveryResults(f.db, acks, f.clock.now())).size).toBe(0);
    expect(await f.rows(sql`select count(*)::int as n from delivery_attempts`)).toEqual([{ n: 1 }]);
    // A release retried does not hand back the attempt twice either.
    f.clock.advance(5_000);
    const again = await claim("d2", f.clock.now());
    const release = [releaseDelivery(again[0]!, f.clock.now())];
    await recordDeliveryResults(f.db, release, f.clock.now());
    await recordDeliveryResults(f.db, release, f.clock.now());
    expect(await f.rows(sql`select series_attempts, total_attempts from deliveries`)).toEqual([
      { series_attempts: 1, total_attempts: 1 },
    ]);
  });

  it("without a fake clock, leases and retry times are on the database's clock", async () => {
    await f.rows(sql`update deliveries set next_attempt_at = now()`);
    await pendingDelivery("job_b");
    await f.rows(sql`update deliveries set next_attempt_at = now() - interval '1 second'`);
    const [d] = await claim("d1"); // no `now`: the database's
    const [row] = await f.rows<{ lease_s: number }>(
      sql`select extract(epoch from next_attempt_at - now())::float8 as lease_s from deliveries where id = ${d!.id}`,
    );
    expect(row!.lease_s).toBeGreaterThan(15);
    expect(row!.lease_s).toBeLessThanOrEqual(20);
    expect(await claim("d2")).toHaveLength(0); // leased on the database's clock, whatever the callers' clocks say
    // A retry decided on a clock 30 s ahead lands 5 s after the database's now, not 35 s.
    const skewedNow = new Date(Date.now() + 30_000);
    const retry = decideDelivery(d!, fail, {
      now: skewedNow,
      scheduleMs: [5_000],
      attemptStartedAt: skewedNow,
      random: noJitter,
    });
    await recordDeliveryResults(f.db, [retry], skewedNow, { databaseClock: true });
    const [after] = await f.rows<{ due_s: number }>(
      sql`select extract(epoch from next_attempt_at - now())::float8 as due_s from deliveries where id = ${d!.id}`,
    );
    expect(after!.due_s).toBeGreaterThan(3);
    expect(after!.due_s).toBeLessThan(6);
  });
});
