import { sql } from "drizzle-orm";
import { claimSchedule } from "../../src/scheduler/poll-timing.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { claimDuePolls } from "../../src/db/queries/claim-due-polls.js";
import { type ClaimedPoll } from "../../src/domain/poll.js";
import { openTestDb, DRIVERS } from "../support/test-db.js";
import type { JobFetchResult } from "../../src/upstream/client.js";
import { createStorageFixture, type StorageFixture } from "../support/storage.js";

const job = (id: string, status: string, extra: Record<string, unknown> = {}) =>
  ({ kind: "ok", job: { id, status, input_data: "{}", result_data: null, error: null, ...extra } }) as JobFetchResult;

describe.each(DRIVERS)("poll storage on %s", (driver) => {
  let f: StorageFixture;
  beforeEach(async () => {
    f = await createStorageFixture(driver);
  });
  afterEach(async () => {
    await f?.close();
  });

  const claim = (limit = 100, workerId = "w1") => f.claimPolls({ limit, workerId });
  const ack = (polls: ClaimedPoll[], result: (p: ClaimedPoll) => JobFetchResult) => f.settlePolls(polls, result);
  const nextInMs = async () =>
    (await f.rows<{ ms: number }>(sql`select (extract(epoch from next_poll_at) * 1000)::float8 as ms from polls`))[0]!.ms -
    f.clock.now().getTime();

  it("shares one poll row between watches of one job, and claims only due active rows up to the limit", async () => {
    await f.watch("job_a");
    await f.watch("job_a");
    await f.watch("job_b");
    await f.watch("job_c");
    expect(await f.rows(sql`select job_id from polls order by job_id`)).toEqual([
      { job_id: "job_a" },
      { job_id: "job_b" },
      { job_id: "job_c" },
    ]);

    const first = await claim(2);
    expect(first).toHaveLength(2);
    const second = await claim(10);
    expect(second).toHaveLength(1);
    expect(new Set([...first, ...second].map((p) => p.jobId))).toEqual(new Set(["job_a", "job_b", "job_c"]));
    expect(await claim(10)).toHaveLength(0); // leased rows left the due range

    // The lease ends: the rows are due again for anyone.
    f.clock.advance(15_001);
    expect(await claim(10, "w2")).toHaveLength(3);
  });

  it("writes back an unchanged poll with the next time and a grown interval, and drops a fenced write", async () => {
    await f.watch("job_a");
    const [p] = await claim();
    f.clock.advance(100);
    const summary = await ack([p!], () => job("job_a", "queued"));
    expect(summary).toEqual({ written: 1, fenced: 0, deliveriesCreated: 0, handedOver: 0 });
    const [row] = await f.rows<{ job_status: string; poll_count: number; plan: number[] }>(
      sql`select job_status, poll_count, plan_ms as plan from polls`,
    );
    // The first sight of the job planned its polls: 1 s, then ×1.5 towards 10 s, each ±10%, never under 1 s.
    expect(row).toMatchObject({ job_status: "queued", poll_count: 1 });
    const first = await nextInMs();
    expect(first).toBeGreaterThanOrEqual(1000 - 100);
    expect(first).toBeLessThanOrEqual(1100);
    const gaps = [first + 100, ...row!.plan].map((at, i, all) => (i === 0 ? at : at - all[i - 1]!));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(10_000);

    // The same state again: the claim already scheduled the next poll (the plan's next offset), nothing is written.
    f.clock.advance(first);
    const [again] = await claim();
    expect(again).toMatchObject({ pollCount: 2 });
    expect(await ack([again!], () => job("job_a", "queued"))).toEqual({
      written: 0,
      fenced: 0,
      deliveriesCreated: 0,
      handedOver: 0,
    });
    const [after] = await f.rows<{ plan: number[] }>(sql`select plan_ms as plan from polls`);
    expect(after!.plan).toEqual(row!.plan.slice(1));
    expect(await nextInMs()).toBe(row!.plan[0]! - (f.clock.now().getTime() - Date.UTC(2026, 0, 1, 12)));

    // A claim far behind its plan skips the offsets already past rather than polling them in a burst.
    f.clock.advance(60_000);
    await claim();
    expect(await nextInMs()).toBeGreaterThanOrEqual(1000);
    const [late] = await f.rows<{ plan: number[] }>(sql`select plan_ms as plan from polls`);
    expect(late!.plan.length).toBeLessThan(after!.plan.length - 3);

    // A stale claim (its answer came after the next claim) cannot overwrite the newer result.
    f.clock.advance(20_000);
    const [mine] = await claim();
    f.clock.advance(20_000);
    const [theirs] = await claim(10, "w2");
    expect(theirs!.claimSeq).toBe(mine!.claimSeq + 1);
    expect(await ack([mine!], () => job("job_a", "completed"))).toEqual({
      written: 0,
      fenced: 1,
      deliveriesCreated: 0,
      handedOver: 0,
    });
    expect(await f.rows(sql`select status, job_status from polls`)).toEqual([{ status: "active", job_status: "queued" }]);
    expect(await f.rows(sql`select count(*)::int as n from deliveries`)).toEqual([{ n: 0 }]);
  });

  it("past the end of its plan, a job is polled at the plan's last spacing grown ×1.5, not back at its first", async () => {
    await f.watch("job_a");
    const startedAt = Date.UTC(2026, 0, 1, 12);
    // A plan that starts dense (1 s) and ends sparse (8 s): offsets from the start.
    await f.rows(
      sql`update polls set plan_ms = '{1000,2000,10000}'::int[], interval_ms = 1000, next_poll_at = ${new Date(startedAt).toISOString()}`,
    );
    await claim(); // now: the plan's next poll at +1 s
    for (const at of [1_000, 2_000, 10_000]) {
      f.clock.set(startedAt + at);
      await claim();
    }
    // The plan's last spacing was 8 s: the next poll comes 8 s later (±10%), the one after that 12 s (capped at 10 s).
    const next = await nextInMs();
    expect(next).toBeGreaterThanOrEqual(7_200);
    expect(next).toBeLessThanOrEqual(8_800);
    expect(await f.rows(sql`select interval_ms from polls`)).toEqual([{ interval_ms: 10_000 }]);
  });

  it("on a terminal status creates one delivery per subscribed watch in the same write, and settles the others", async () => {
    const wanted = await f.watch("job_a", { metadata: { n: 1 } });
    const failedOnly = await f.watch("job_a", { events: ["job.failed"] });
    const canceled = await f.watch("job_a");
    await f.rows(sql`update watches set status = 'canceled' where id = ${canceled}`);
    const untouched = await f.watch("job_b");

    const polls = await claim();
    const summary = await ack(polls, (p) =>
      p.jobId === "job_a" ? job("job_a", "completed", { result_data: '{"storage_url":"u"}' }) : job("job_b", "processing"),
    );
    expect(summary).toEqual({ written: 2, fenced: 0, deliveriesCreated: 1, handedOver: 0 });

    const watches = await f.rows<{ id: string; status: string }>(sql`select id, status from watches order by id`);
    expect(Object.fromEntries(watches.map((w) => [w.id, w.status]))).toEqual({
      [wanted]: "delivering",
      [failedOnly]: "delivered",
      [canceled]: "canceled",
      [untouched]: "watching",
    });
    const [delivery] = await f.rows<{ watch_id: string; event: string; status: string; body: string; rank: number }>(
      sql`select watch_id, event, status, body, rank from deliveries`,
    );
    expect(delivery).toMatchObject({ watch_id: wanted, event: "job.completed", status: "pending", rank: 1 });
    expect(JSON.parse(delivery!.body)).toMatchObject({
      type: "job.completed",
      data: { watch_id: wanted, job_id: "job_a", status: "completed", result: { storage_url: "u" }, metadata: { n: 1 } },
    });
    expect(await f.rows(sql`select job_id, status from polls order by job_id`)).toEqual([
      { job_id: "job_a", status: "done" },
      { job_id: "job_b", status: "active" },
    ]);
  });

  it("emits job.processing once per watch, then the final event; a new watch reactivates a finished job", async () => {
    const w = await f.watch("job_a", { events: ["job.processing", "job.completed"] });
    let [p] = await claim();
    await ack([p!], () => job("job_a", "processing"));
    f.clock.advance(10_000);
    [p] = await claim();
    await ack([p!], () => job("job_a", "processing")); // unchanged: nothing new
    expect(await f.rows(sql`select event from deliveries`)).toEqual([{ event: "job.processing" }]);
    f.clock.advance(10_000);
    [p] = await claim();
    await ack([p!], () => job("job_a", "completed"));
    expect(await f.rows(sql`select event from deliveries order by rank`)).toEqual([
      { event: "job.processing" },
      { event: "job.completed" },
    ]);
    expect(await f.rows(sql`select status from watches where id = ${w}`)).toEqual([{ status: "delivering" }]);

    // The job finished; a later watch on it makes the poll active and due now, so it is read again.
    f.clock.advance(60_000);
    const late = await f.watch("job_a");
    expect(await f.rows(sql`select status, interval_ms from polls`)).toEqual([{ status: "active", interval_ms: 1000 }]);
    const again = await claim();
    expect(again).toHaveLength(1);
    expect(await ack(again, () => job("job_a", "completed"))).toMatchObject({ deliveriesCreated: 1 });
    expect(await f.rows(sql`select watch_id, event from deliveries where watch_id = ${late}`)).toEqual([
      { watch_id: late, event: "job.completed" },
    ]);
    expect(await f.rows(sql`select count(*)::int as n from deliveries where watch_id = ${w}`)).toEqual([{ n: 2 }]); // untouched
  });

  it("expires every watch of a job after three 404s and creates watch.expired whatever their events", async () => {
    const a = await f.watch("job_x", { events: ["job.failed"] });
    for (let i = 0; i < 3; i++) {
      const polls = await claim();
      expect(polls).toHaveLength(1);
      await ack(polls, () => ({ kind: "not_found" }));
      f.clock.advance(20_000);
    }
    expect(await f.rows(sql`select status, last_error from watches where id = ${a}`)).toEqual([
      { status: "expired", last_error: "job_not_found" },
    ]);
    expect(await f.rows(sql`select event from deliveries`)).toEqual([{ event: "watch.expired" }]);
    expect(await f.rows(sql`select status from polls`)).toEqual([{ status: "expired" }]);
    expect(await claim()).toHaveLength(0);
  });

  it("two schedulers claiming concurrently never take the same row", async () => {
    const n = 1_500;
    await f.rows(sql`
      insert into polls (id, tenant_id, job_id, status, next_poll_at, interval_ms)
      select 'pol_' || g, ${f.tenantId}, 'job_' || g, 'active', ${f.clock.now().toISOString()}::timestamptz, 1000
      from generate_series(1, ${n}::int) g`);
    // Separate pools: on Postgres the claims really overlap; PGlite runs them one after another.
    const other = f.store.databaseUrl ? await openTestDb(f.store) : f.db;
    try {
      const claimAll = async (db: typeof f.db, workerId: string) => {
        const got: string[] = [];
        for (;;) {
          const batch = await claimDuePolls(db, {
            workerId,
            limit: 50,
            now: f.clock.now(),
            schedule: claimSchedule({ minIntervalMs: 1000, maxIntervalMs: 10_000 }),
          });
          if (batch.length === 0) return got;
          got.push(...batch.map((p) => p.id));
        }
      };
      const [a, b] = await Promise.all([claimAll(f.db, "w1"), claimAll(other, "w2"), ...[]]);
      expect(a.length + b.length).toBe(n);
      expect(new Set([...a, ...b]).size).toBe(n);
      if (f.store.databaseUrl) {
        expect(a.length).toBeGreaterThan(0);
        expect(b.length).toBeGreaterThan(0);
      }
    } finally {
      if (other !== f.db) await other.close();
    }
  });
});
