import { sql } from "drizzle-orm";
import { claimSchedule } from "../../src/scheduler/poll-timing.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Database } from "../../src/db/client.js";
import { runClaim } from "../../src/db/run-claim.js";
import { claimDueDeliveries } from "../../src/db/queries/claim-due-deliveries.js";
import { claimDuePolls } from "../../src/db/queries/claim-due-polls.js";
import { createStorageFixture, type StorageFixture } from "../support/storage.js";
import { DRIVERS } from "../support/test-db.js";

const BURST = 3_000;

// A burst: thousands of polls and deliveries made due after the planner's statistics were taken (no analyze
// since), as when many jobs finish at once. Planned from those statistics, a claim used to read and sort every
// due row to lock a few.
describe.each(DRIVERS)("claims in a burst on %s", (driver) => {
  let f: StorageFixture;
  beforeAll(async () => {
    f = await createStorageFixture(driver);
    await f.db.rows(sql`analyze`); // statistics of the empty tables
    const due = sql`${f.clock.now().toISOString()}::timestamptz - g * interval '1 millisecond'`;
    await f.db.rows(sql`
      insert into polls (id, tenant_id, job_id, status, next_poll_at, interval_ms, created_at, updated_at)
      select 'pol_' || g, ${f.tenantId}, 'job_' || g, 'active', ${due}, 1000, now(), now() from generate_series(1, ${BURST}::int) g`);
    await f.db.rows(sql`
      insert into watches (id, tenant_id, poll_id, job_id, callback_url, events, status, created_at, updated_at)
      select 'wch_' || g, ${f.tenantId}, 'pol_' || g, 'job_' || g, 'http://127.0.0.1:9/hook', array['job.completed'], 'delivering', now(), now()
      from generate_series(1, ${BURST}::int) g`);
    await f.db.rows(sql`
      insert into deliveries (id, tenant_id, watch_id, event, rank, callback_url, origin, body, status, next_attempt_at, created_at, updated_at)
      select 'msg_' || g, ${f.tenantId}, 'wch_' || g, 'job.completed', 1, 'http://127.0.0.1:9/hook', 'http://127.0.0.1:9', '{}',
             'pending', ${due}, now(), now()
      from generate_series(1, ${BURST}::int) g`);
  });
  afterAll(async () => {
    await f?.close();
  });

  // The claims as the loops make them into a backlog: five of the oldest due rows.
  const claimPolls = (db: Database) =>
    claimDuePolls(db, {
      workerId: "w",
      limit: 5,
      now: f.clock.now(),
      schedule: claimSchedule({ minIntervalMs: 1_000, maxIntervalMs: 1_000 }),
      backlog: true,
    });
  const claimDeliveries = (db: Database) =>
    claimDueDeliveries(db, { workerId: "w", limit: 5, now: f.clock.now(), leaseMs: 20_000, backlog: true });

  const plan = async (query: ReturnType<typeof sql>) =>
    (await runClaim<Record<string, string>>(f.db, sql`explain ${query}`, { backlog: true }))
      .map((r) => Object.values(r)[0])
      .join("\n");

  it("walk the due index in order and stop at the limit, whatever the statistics say", async () => {
    const deliveries = await plan(sql`
      select d.id from deliveries d
      where d.status = 'pending' and d.next_attempt_at <= now()
        and not exists (select 1 from deliveries e where e.watch_id = d.watch_id and e.status = 'pending' and e.rank < d.rank)
      order by d.next_attempt_at limit 32 for update skip locked`);
    expect(deliveries).toMatch(/Index Scan using deliveries_due_idx/);
    expect(deliveries).not.toMatch(/Bitmap|Seq Scan|Sort/);
    const polls = await plan(sql`
      select id from polls where status = 'active' and next_poll_at <= now()
      order by next_poll_at limit 32 for update skip locked`);
    expect(polls).toMatch(/Index Scan using polls_due_idx/);
    expect(polls).not.toMatch(/Bitmap|Seq Scan|Sort/);
  });

  it("into a backlog read about as many index entries as they lease, not the whole due backlog", async () => {
    const db = f.store.databaseUrl
      ? await createDb({ databaseUrl: f.store.databaseUrl, dataDir: "unused", maxConnections: 1 })
      : f.db;
    try {
      const read = async (index: string) => {
        await db.rows(sql`select pg_stat_force_next_flush()`); // this statement's end reports what came before
        await db.rows(sql`select pg_stat_clear_snapshot()`);
        const [row] = await db.rows<{ n: string | number }>(
          sql`select idx_tup_read as n from pg_stat_user_indexes where indexrelname = ${index}`,
        );
        return Number(row!.n);
      };
      const polls0 = await read("polls_due_idx");
      const polls = await claimPolls(db);
      expect(polls).toHaveLength(5);
      const pollsRead = (await read("polls_due_idx")) - polls0;
      const deliveries0 = await read("deliveries_due_idx");
      const deliveries = await claimDeliveries(db);
      expect(deliveries).toHaveLength(5);
      const deliveriesRead = (await read("deliveries_due_idx")) - deliveries0;
      expect(pollsRead).toBeLessThan(100);
      expect(deliveriesRead).toBeLessThan(100);
    } finally {
      if (db !== f.db) await db.close();
    }
  });

  it("lease the oldest due rows first, and leave the planner settings of the connection as they were", async () => {
    const oldest = async (table: "polls" | "deliveries") =>
      (
        await f.db.rows<{ id: string }>(
          table === "polls"
            ? sql`select id from polls where status = 'active' and next_poll_at <= ${f.clock.now().toISOString()}::timestamptz order by next_poll_at limit 5`
            : sql`select id from deliveries where status = 'pending' and next_attempt_at <= ${f.clock.now().toISOString()}::timestamptz order by next_attempt_at limit 5`,
        )
      )
        .map((r) => r.id)
        .sort();
    const expectedPolls = await oldest("polls");
    const polls = await claimPolls(f.db);
    expect(polls.map((p) => p.id).sort()).toEqual(expectedPolls);
    const expectedDeliveries = await oldest("deliveries");
    const deliveries = await claimDeliveries(f.db);
    expect(deliveries.map((d) => d.id).sort()).toEqual(expectedDeliveries);
    // set_config(…, true) lasts for the claim's transaction only: pooled connections plan as usual afterwards.
    for (let i = 0; i < 3; i++) {
      const [settings] = await f.db.rows<{ bitmap: string; seq: string }>(
        sql`select current_setting('enable_bitmapscan') as bitmap, current_setting('enable_seqscan') as seq`,
      );
      expect(settings).toEqual({ bitmap: "on", seq: "on" });
    }
  });
});
