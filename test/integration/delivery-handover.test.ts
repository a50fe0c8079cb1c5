import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { claimDueDeliveries } from "../../src/db/queries/claim-due-deliveries.js";
import { recordDeliveryResults } from "../../src/db/queries/record-delivery-results.js";
import { decideDelivery } from "../../src/delivery/backoff.js";
import type { SendResult } from "../../src/domain/attempt.js";
import type { ClaimedDelivery, DeliveryIntake, NewDelivery } from "../../src/domain/delivery.js";
import { createStorageFixture, type StorageFixture } from "../support/storage.js";
import { DRIVERS } from "../support/test-db.js";

const LEASE_MS = 20_000;
const ok: SendResult = { ok: true, statusCode: 200, durationMs: 12, error: null };

/**
 * A delivery worker as the write sees it: it holds a slot for the messages `take` picks (default all) and records
 * what it is handed. It sends nothing by itself: the test does, or, for a crash, never does.
 */
function intake(take: (d: NewDelivery) => boolean = () => true) {
  const handed: ClaimedDelivery[] = [];
  const settled: number[] = [];
  const worker: DeliveryIntake = {
    workerId: "relay-a",
    leaseMs: LEASE_MS,
    reserve(deliveries) {
      const ids = new Set(deliveries.filter(take).map((d) => d.id));
      return {
        ids,
        settle(leased) {
          settled.push(ids.size);
          handed.push(...leased);
        },
      };
    },
  };
  return { worker, handed, settled };
}

describe.each(DRIVERS)("deliveries created leased on %s", (driver) => {
  let f: StorageFixture;
  beforeEach(async () => {
    f = await createStorageFixture(driver);
  });
  afterEach(async () => {
    await f?.close();
  });

  const jobGoes = async (jobId: string, status: string, worker?: DeliveryIntake) => {
    const polls = await f.claimPolls();
    const summary = await f.settlePolls(
      polls,
      (p) => (p.jobId === jobId ? { kind: "ok", job: { id: jobId, status: status as "queued" } } : undefined),
      worker,
    );
    f.clock.advance(10_000);
    return summary;
  };
  const claim = (workerId = "relay-b") =>
    claimDueDeliveries(f.db, { workerId, limit: 100, now: f.clock.now(), leaseMs: LEASE_MS });
  const ack = (claimed: readonly ClaimedDelivery[]) =>
    recordDeliveryResults(
      f.db,
      claimed.map((c) =>
        decideDelivery(c, ok, {
          now: f.clock.now(),
          scheduleMs: [5_000],
          attemptStartedAt: f.clock.now(),
          random: f.random,
        }),
      ),
      f.clock.now(),
    );
  const rows = () =>
    f.rows<{ id: string; watch_id: string; event: string; locked_by: string | null; claim_seq: number; total_attempts: number }>(
      sql`select id, watch_id, event, locked_by, claim_seq, total_attempts from deliveries order by watch_id, rank`,
    );

  it("creates the final event's message claimed by the worker that saw it, hands it over after the commit, and no claim takes it", async () => {
    const w = await f.watch("job_a");
    const { worker, handed, settled } = intake();
    const writtenAt = f.clock.now();
    expect(await jobGoes("job_a", "completed", worker)).toMatchObject({ deliveriesCreated: 1, handedOver: 1 });
    const [row] = await rows();
    expect(row).toMatchObject({ watch_id: w, locked_by: "relay-a", claim_seq: 1, total_attempts: 1 });
    const [due] = await f.rows<{ at: Date | string }>(sql`select next_attempt_at as at from deliveries`);
    expect(new Date(due!.at).getTime()).toBe(writtenAt.getTime() + LEASE_MS); // a claim's lease, from the write
    expect(settled).toEqual([1]);
    expect(handed).toEqual([
      expect.objectContaining({ id: row!.id, watchId: w, event: "job.completed", claimSeq: 1, attempt: 1, seriesAttempt: 1 }),
    ]);
    expect(JSON.parse(handed[0]!.body).data).toMatchObject({ watch_id: w, status: "completed" });
    expect(await claim()).toEqual([]); // leased: no other process takes it
    expect(await ack(handed)).toEqual(new Set([row!.id]));
    expect(await f.rows(sql`select status from watches where id = ${w}`)).toEqual([{ status: "delivered" }]);
  });

  it("after a crash between the write and the send, the message is claimed again when its lease ends; the dead lease's late result is fenced", async () => {
    await f.watch("job_a");
    const { worker, handed } = intake();
    const writtenAt = f.clock.now().getTime();
    await jobGoes("job_a", "completed", worker); // handed over, then the process dies: nothing is sent
    f.clock.set(new Date(writtenAt + LEASE_MS - 1));
    expect(await claim()).toEqual([]);
    f.clock.set(new Date(writtenAt + LEASE_MS));
    const [again] = await claim();
    expect(again).toMatchObject({ id: handed[0]!.id, claimSeq: 2, attempt: 2 }); // the dead lease used an attempt
    expect(await ack(handed)).toEqual(new Set()); // a stalled first holder's result cannot overwrite the new lease
    expect(await ack([again!])).toEqual(new Set([again!.id]));
    expect(await f.rows(sql`select status, locked_by, claim_seq from deliveries`)).toEqual([
      { status: "delivered", locked_by: null, claim_seq: 2 },
    ]);
  });

  it("leaves for the claim what the worker holds no slot for, and a final event while the watch's job.processing is pending", async () => {
    const taken = await f.watch("job_a", { metadata: { n: 1 } });
    const left = await f.watch("job_a", { metadata: { n: 2 } });
    const ordered = await f.watch("job_b", { events: ["job.processing", "job.completed"] });
    await jobGoes("job_b", "processing"); // its job.processing waits, unsent
    const { worker, handed } = intake((d) => d.watchId !== left);
    const polls = await f.claimPolls();
    const summary = await f.settlePolls(polls, (p) => ({ kind: "ok", job: { id: p.jobId, status: "completed" } }), worker);
    expect(summary).toMatchObject({ deliveriesCreated: 3, handedOver: 1 });
    expect(handed.map((d) => d.watchId)).toEqual([taken]);
    const all = await rows();
    expect(all.filter((r) => r.watch_id === left)).toEqual([
      expect.objectContaining({ locked_by: null, claim_seq: 0, total_attempts: 0 }),
    ]);
    expect(all.filter((r) => r.watch_id === ordered).map((r) => [r.event, r.locked_by])).toEqual([
      ["job.processing", null],
      ["job.completed", null],
    ]);
    // The claim sends the rest, job.processing before the final event of the same watch.
    const claimed = await claim();
    expect(claimed.map((d) => `${d.watchId} ${d.event}`).sort()).toEqual(
      [`${left} job.completed`, `${ordered} job.processing`].sort(),
    );
  });
});
