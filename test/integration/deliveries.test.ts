import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cancelWatch } from "../../src/db/queries/cancel-watch.js";
import { claimDueDeliveries } from "../../src/db/queries/claim-due-deliveries.js";
import { type ClaimedDelivery } from "../../src/domain/delivery.js";
import { recordDeliveryResults } from "../../src/db/queries/record-delivery-results.js";
import { redeliverWatch } from "../../src/db/queries/redeliver-watch.js";
import { decideDelivery, releaseDelivery } from "../../src/delivery/backoff.js";
import type { SendResult } from "../../src/domain/attempt.js";
import { createStorageFixture, type StorageFixture } from "../support/storage.js";
import { DRIVERS } from "../support/test-db.js";

const schedule = [5_000, 60_000];
/** 0.5 puts the ±20% jitter at zero: the schedule's own delays. */
const noJitter = { float: () => 0.5, bytes: (n: number) => Buffer.alloc(n) };
const ok: SendResult = { ok: true, statusCode: 200, durationMs: 12, error: null };
const fail = (statusCode: number): SendResult => ({ ok: false, statusCode, durationMs: 30, error: "status" });

describe.each(DRIVERS)("delivery storage on %s", (driver) => {
  let f: StorageFixture;
  beforeEach(async () => {
    f = await createStorageFixture(driver);
  });
  afterEach(async () => {
    await f?.close();
  });

  /** Drives a job to `statuses` in turn through the real poll queries. */
  const jobGoes = async (jobId: string, ...statuses: string[]) => {
    for (const status of statuses) {
      const polls = await f.claimPolls();
      await f.settlePolls(polls, (p) =>
        p.jobId === jobId ? { kind: "ok", job: { id: jobId, status: status as "queued" } } : undefined,
      );
      f.clock.advance(10_000);
    }
  };
  const claim = (workerId = "d1") => claimDueDeliveries(f.db, { workerId, limit: 100, now: f.clock.now(), leaseMs: 20_000 });
  const ack = (claimed: ClaimedDelivery[], result: SendResult) =>
    recordDeliveryResults(
      f.db,
      claimed.map((c) =>
        decideDelivery(c, result, {
          now: f.clock.now(),
          scheduleMs: schedule,
          attemptStartedAt: f.clock.now(),
          random: noJitter,
        }),
      ),
      f.clock.now(),
    );
  const watchRow = async (id: string) =>
    (
      await f.rows<{ status: string; last_error: string | null }>(sql`select status, last_error from watches where id = ${id}`)
    )[0];

  it("sends job.processing before the final event of the same watch", async () => {
    const w = await f.watch("job_a", { events: ["job.processing", "job.completed"] });
    await jobGoes("job_a", "processing", "completed");
    const first = await claim();
    expect(first.map((d) => d.event)).toEqual(["job.processing"]); // the final event waits its turn
    await ack(first, fail(500));
    f.clock.advance(5_000);
    const retry = await claim();
    expect(retry.map((d) => [d.event, d.seriesAttempt, d.attempt])).toEqual([["job.processing", 2, 2]]);
    await ack(retry, ok);
    const final = await claim();
    expect(final.map((d) => d.event)).toEqual(["job.completed"]);
    await ack(final, ok);
    expect(await watchRow(w)).toEqual({ status: "delivered", last_error: null });
    const attempts = await f.rows(sql`select attempt, status_code, error from delivery_attempts order by id`);
    expect(attempts).toEqual([
      { attempt: 1, status_code: 500, error: "status" },
      { attempt: 2, status_code: 200, error: null },
      { attempt: 1, status_code: 200, error: null },
    ]);
  });

  it("follows the schedule, then fails the delivery and the watch", async () => {
    const w = await f.watch("job_a");
    await jobGoes("job_a", "failed");
    const first = await claim(); // the first attempt is immediate
    expect(first).toHaveLength(1);
    await ack(first, fail(502));
    for (const wait of [5_000, 60_000]) {
      f.clock.advance(wait - 1);
      expect(await claim()).toHaveLength(0); // not due a millisecond early
      f.clock.advance(1);
      const got = await claim();
      expect(got).toHaveLength(1);
      await ack(got, fail(502));
    }
    expect(await claim()).toHaveLength(0);
    expect(await watchRow(w)).toEqual({
      status: "failed",
      last_error: "delivery failed: exhausted: 3 attempts, last status 502",
    });
    expect(await f.rows(sql`select status, next_attempt_at from deliveries`)).toEqual([
      { status: "failed", next_attempt_at: null },
    ]);
  });

  it("redelivers as a new series with the same id, marked manual", async () => {
    const w = await f.watch("job_a");
    await jobGoes("job_a", "completed");
    const [d] = await claim();
    await ack([d!], ok);
    expect(await watchRow(w)).toMatchObject({ status: "delivered" });
    expect(await redeliverWatch(f.db, f.tenantId, w, f.clock.now())).toEqual({ kind: "queued", deliveryId: d!.id });
    expect(await watchRow(w)).toMatchObject({ status: "delivering" });
    const [again] = await claim();
    expect(again).toMatchObject({ id: d!.id, trigger: "manual", seriesAttempt: 1, attempt: 2 });
    await ack([again!], fail(500));
    f.clock.advance(5_000);
    const [third] = await claim();
    expect(third).toMatchObject({ trigger: "scheduled", seriesAttempt: 2, attempt: 3 });
    await ack([third!], ok);
    expect(await watchRow(w)).toMatchObject({ status: "delivered" });
    expect(await f.rows(sql`select trigger from delivery_attempts order by attempt`)).toEqual([
      { trigger: "scheduled" },
      { trigger: "manual" },
      { trigger: "scheduled" },
    ]);
  });

  it("a cancel during an attempt fences its write-back: no retry is scheduled, the attempt is still logged", async () => {
    const w = await f.watch("job_a");
    await jobGoes("job_a", "completed");
    const inFlight = await claim();
    expect(await cancelWatch(f.db, f.tenantId, w, f.clock.now())).toEqual({ kind: "canceled", jobId: "job_a", service: "api" });
    const applied = await ack(inFlight, fail(500));
    expect(applied.size).toBe(0);
    expect(await f.rows(sql`select status, last_error from deliveries`)).toEqual([
      { status: "failed", last_error: "canceled: the watch was canceled" },
    ]);
    expect(await watchRow(w)).toEqual({ status: "canceled", last_error: null });
    expect(await f.rows(sql`select count(*)::int as n from delivery_attempts`)).toEqual([{ n: 1 }]);
    f.clock.advance(3_600_000);
    expect(await claim()).toHaveLength(0);
  });

  it("a released claim is due again at once and does not use up an attempt", async () => {
    await f.watch("job_a");
    await jobGoes("job_a", "completed");
    const [d] = await claim();
    await recordDeliveryResults(f.db, [releaseDelivery(d!, f.clock.now())], f.clock.now());
    const [again] = await claim("d2");
    expect(again).toMatchObject({ id: d!.id, seriesAttempt: 1, attempt: 1 });
    expect(await f.rows(sql`select count(*)::int as n from delivery_attempts`)).toEqual([{ n: 0 }]);
  });

  it("a claim whose lease expired loses to the newer claimant", async () => {
    await f.watch("job_a");
    await jobGoes("job_a", "completed");
    const stale = await claim("d1");
    f.clock.advance(20_001);
    const fresh = await claim("d2");
    expect(fresh).toHaveLength(1);
    await ack(fresh, ok);
    expect((await ack(stale, fail(500))).size).toBe(0);
    expect(await f.rows(sql`select status from deliveries`)).toEqual([{ status: "delivered" }]);
  });
});
