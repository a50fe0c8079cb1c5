import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/client.js";
import { cancelWatch } from "../../src/db/queries/cancel-watch.js";
import { claimDueDeliveries } from "../../src/db/queries/claim-due-deliveries.js";
import { createWatch } from "../../src/db/queries/create-watch.js";
import { recoverDeliveries } from "../../src/db/queries/recover-deliveries.js";
import { toDate, ts } from "../../src/db/sql-values.js";
import { createStorageFixture, type StorageFixture } from "../support/storage.js";
import { DRIVERS } from "../support/test-db.js";

const HOUR = 3_600_000;

describe.each(DRIVERS)("recovering failed deliveries on %s", (driver) => {
  let f: StorageFixture;
  beforeEach(async () => {
    f = await createStorageFixture(driver);
  });
  afterEach(async () => {
    await f?.close();
  });

  /** Polls the listed jobs once through the real queries, answering `status` (others are released untouched). */
  const jobsGo = async (status: "processing" | "completed" | "failed", ...jobIds: string[]) => {
    const polls = await f.claimPolls();
    await f.settlePolls(polls, (p) => (jobIds.includes(p.jobId) ? { kind: "ok", job: { id: p.jobId, status } } : undefined));
  };
  /** Marks a watch's delivery of `event` failed with its last attempt at `at` (what the delivery worker writes). */
  const failedAt = async (watchId: string, at: Date, event = "job.completed") => {
    await f.rows(sql`
      update deliveries
      set status = 'failed', last_attempt_at = ${ts(at)}, last_error = 'exhausted: 4 attempts, last status 500',
          series_attempts = 4, total_attempts = 4, next_attempt_at = null, next_trigger = 'scheduled', claim_seq = 4
      where watch_id = ${watchId} and event = ${event}`);
    if (event === "job.completed") {
      await f.rows(
        sql`update watches set status = 'failed', last_error = 'delivery failed: exhausted' where id = ${watchId} and status = 'delivering'`,
      );
    }
  };
  const delivery = async (watchId: string, event = "job.completed") =>
    (
      await f.rows<Record<string, unknown>>(
        sql`select id, status, series_attempts, total_attempts, next_trigger, next_attempt_at, claim_seq, locked_by, last_error,
                   last_attempt_at, updated_at
            from deliveries where watch_id = ${watchId} and event = ${event}`,
      )
    )[0]!;
  const watchStatus = async (watchId: string) =>
    (await f.rows<{ status: string }>(sql`select status from watches where id = ${watchId}`))[0]!.status;
  const statuses = async (watchIds: string[]) => Promise.all(watchIds.map(async (w) => (await delivery(w)).status));

  /** `n` watches on their own jobs, each with a failed final delivery, last attempts `stepMs` apart from `from`. */
  const failedWatches = async (n: number, from: Date, stepMs = 1) => {
    const jobs = Array.from({ length: n }, (_, i) => `job_${i}`);
    const ids: string[] = [];
    for (const job of jobs) ids.push(await f.watch(job));
    await jobsGo("completed", ...jobs);
    for (const [i, id] of ids.entries()) await failedAt(id, new Date(from.getTime() + i * stepMs));
    return ids;
  };

  it("re-queues exactly the failed deliveries whose last attempt is in [since, until), as a manual series", async () => {
    const t0 = f.clock.now().getTime();
    const since = new Date(t0 - 10 * HOUR);
    const until = new Date(t0 - HOUR);
    const at = (offsetMs: number, base: Date) => new Date(base.getTime() + offsetMs);

    const w = {
      beforeSince: await f.watch("job_1"),
      atSince: await f.watch("job_2"),
      beforeUntil: await f.watch("job_3"),
      atUntil: await f.watch("job_4"),
      delivered: await f.watch("job_5"),
      canceled: await f.watch("job_6"),
      processing: await f.watch("job_7", { events: ["job.processing", "job.completed"] }),
      expired: await f.watch("job_8"),
    };
    await jobsGo("processing", "job_7");
    f.clock.advance(2_000); // job_7's next poll is due
    await jobsGo("completed", "job_1", "job_2", "job_3", "job_4", "job_5", "job_6", "job_8");
    await failedAt(w.beforeSince, at(-1, since));
    await failedAt(w.atSince, since);
    await failedAt(w.beforeUntil, at(-1, until));
    await failedAt(w.atUntil, until);
    await f.rows(sql`update deliveries set status = 'delivered', last_attempt_at = ${ts(since)} where watch_id = ${w.delivered}`);
    await f.rows(sql`update watches set status = 'delivered' where id = ${w.delivered}`);
    // Canceled while its final event was pending: the delivery is failed with a `canceled:` reason.
    await cancelWatch(f.db, f.tenantId, w.canceled, f.clock.now());
    await f.rows(sql`update deliveries set last_attempt_at = ${ts(since)} where watch_id = ${w.canceled}`);
    // job.processing gave up, the final event was delivered: only the processing event comes back.
    await failedAt(w.processing, at(1, since), "job.processing");
    await f.rows(sql`update deliveries set status = 'delivered' where watch_id = ${w.processing} and event = 'job.completed'`);
    await f.rows(sql`update watches set status = 'delivered' where id = ${w.processing}`);
    // watch.expired gave up: the event comes back, the watch stays expired.
    await f.rows(sql`update deliveries set event = 'watch.expired' where watch_id = ${w.expired}`);
    await failedAt(w.expired, at(2, since), "watch.expired");
    await f.rows(sql`update watches set status = 'expired' where id = ${w.expired}`);

    const before = {
      atSince: await delivery(w.atSince),
      untouched:
        await f.rows(sql`select * from deliveries where watch_id in (${w.beforeSince}, ${w.atUntil}, ${w.canceled}, ${w.delivered})
                                  order by id`),
    };
    f.clock.advance(1_000);
    const now = f.clock.now();
    expect(await recoverDeliveries(f.db, { tenantId: f.tenantId, since, until, now })).toBe(4);

    const requeued = await delivery(w.atSince);
    expect(requeued).toMatchObject({
      status: "pending",
      series_attempts: 0,
      total_attempts: 4,
      next_trigger: "manual",
      claim_seq: (before.atSince.claim_seq as number) + 1,
      locked_by: null,
      last_error: "exhausted: 4 attempts, last status 500",
    });
    expect(toDate(requeued.next_attempt_at as string)).toEqual(now);
    expect(toDate(requeued.updated_at as string)).toEqual(now);
    expect(toDate(requeued.last_attempt_at as string)).toEqual(since);
    expect((await delivery(w.beforeUntil)).status).toBe("pending");
    expect((await delivery(w.processing, "job.processing")).status).toBe("pending");
    expect((await delivery(w.expired, "watch.expired")).status).toBe("pending");
    expect(
      await f.rows(sql`select * from deliveries where watch_id in (${w.beforeSince}, ${w.atUntil}, ${w.canceled}, ${w.delivered})
                       order by id`),
    ).toEqual(before.untouched);

    expect(await watchStatus(w.atSince)).toBe("delivering");
    expect(await watchStatus(w.beforeUntil)).toBe("delivering");
    expect(await watchStatus(w.beforeSince)).toBe("failed");
    expect(await watchStatus(w.atUntil)).toBe("failed");
    expect(await watchStatus(w.canceled)).toBe("canceled");
    expect(await watchStatus(w.processing)).toBe("delivered");
    expect(await watchStatus(w.expired)).toBe("expired");

    // The worker picks them up at once, as the first attempt of a manual series.
    const claimed = await claimDueDeliveries(f.db, { workerId: "d", limit: 100, now, leaseMs: 20_000 });
    expect(claimed.map((c) => c.watchId).sort()).toEqual([w.atSince, w.beforeUntil, w.processing, w.expired].sort());
    expect(claimed.every((c) => c.trigger === "manual" && c.seriesAttempt === 1 && c.attempt === 5)).toBe(true);

    // Nothing failed is left in the window: a repeat re-queues nothing.
    expect(await recoverDeliveries(f.db, { tenantId: f.tenantId, since, until, now })).toBe(0);
  });

  it("only touches the caller's tenant", async () => {
    const since = new Date(f.clock.now().getTime() - HOUR);
    const mine = await f.watch("job_mine");
    await f.rows(sql`insert into tenants (id, name) values ('ten_other','other')`);
    const { watchId: theirs } = await createWatch(
      f.db,
      {
        tenantId: "ten_other",
        jobId: "job_theirs",
        callbackUrl: "https://other.example/hook",
        events: ["job.completed"],
        metadata: null,
      },
      { now: f.clock.now(), random: f.random, pollMinIntervalMs: 1000 },
    );
    await jobsGo("completed", "job_mine", "job_theirs");
    await failedAt(mine, since);
    await failedAt(theirs, since);
    const before = await delivery(theirs);

    expect(await recoverDeliveries(f.db, { tenantId: f.tenantId, since, until: f.clock.now(), now: f.clock.now() })).toBe(1);
    expect((await delivery(mine)).status).toBe("pending");
    expect(await delivery(theirs)).toEqual(before);
    expect(await watchStatus(theirs)).toBe("failed");

    expect(await recoverDeliveries(f.db, { tenantId: "ten_other", since, until: f.clock.now(), now: f.clock.now() })).toBe(1);
    expect((await delivery(theirs)).status).toBe("pending");
    expect(await watchStatus(theirs)).toBe("delivering");
  });

  it("stops at the limit, oldest last attempt first; the next call takes the rest", async () => {
    const since = new Date(f.clock.now().getTime() - HOUR);
    const ids = await failedWatches(5, since, 1_000);
    const now = f.clock.now();
    expect(await recoverDeliveries(f.db, { tenantId: f.tenantId, since, until: now, now, limit: 3, batchSize: 2 })).toBe(3);
    expect(await statuses(ids)).toEqual(["pending", "pending", "pending", "failed", "failed"]);
    expect(await recoverDeliveries(f.db, { tenantId: f.tenantId, since, until: now, now, limit: 3, batchSize: 2 })).toBe(2);
    expect(await statuses(ids)).toEqual(Array(5).fill("pending"));
  });

  it("works in batches of batchSize, one statement each, each delivery once even with equal timestamps", async () => {
    const since = new Date(f.clock.now().getTime() - HOUR);
    const ids = await failedWatches(7, since, 0); // all at the same instant: the batches walk on by id
    // Two canceled watches between them: skipped, and not rescanned by later batches.
    for (const id of ids.slice(2, 4)) {
      await f.rows(sql`update watches set status = 'canceled' where id = ${id}`);
    }
    let statements = 0;
    const counting: Database = {
      ...f.db,
      rows: (query, executor) => {
        statements++;
        return f.db.rows(query, executor);
      },
    };
    const now = f.clock.now();
    expect(await recoverDeliveries(counting, { tenantId: f.tenantId, since, until: now, now, batchSize: 2 })).toBe(5);
    expect(statements).toBe(3); // 2 + 2 + 1
    expect(await statuses(ids)).toEqual(["pending", "pending", "failed", "failed", "pending", "pending", "pending"]);
    expect(await f.rows(sql`select claim_seq from deliveries where status = 'pending'`)).toEqual(Array(5).fill({ claim_seq: 5 }));

    // A full last batch costs one more (empty) statement to know it was the last.
    await f.rows(sql`update deliveries set status = 'failed'`);
    await f.rows(sql`update watches set status = 'failed' where id in (${ids[2]!}, ${ids[3]!})`);
    statements = 0;
    expect(await recoverDeliveries(counting, { tenantId: f.tenantId, since, until: now, now, batchSize: 7 })).toBe(7);
    expect(statements).toBe(2);
    await f.rows(sql`update deliveries set status = 'failed'`);
    statements = 0;
    expect(await recoverDeliveries(counting, { tenantId: f.tenantId, since, until: now, now, batchSize: 1 })).toBe(7);
    expect(statements).toBe(8);
  });
});
