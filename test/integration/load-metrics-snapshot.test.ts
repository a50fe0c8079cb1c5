import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadMetricsSnapshot } from "../../src/db/queries/load-metrics-snapshot.js";
import { createStorageFixture, type StorageFixture } from "../support/storage.js";
import { DRIVERS } from "../support/test-db.js";

describe.each(DRIVERS)("loadMetricsSnapshot on %s", (driver) => {
  let f: StorageFixture;
  beforeEach(async () => {
    f = await createStorageFixture(driver);
  });
  afterEach(async () => {
    await f?.close();
  });

  it("counts watches by status and the due backlog with its oldest age", async () => {
    expect(await loadMetricsSnapshot(f.db, f.clock.now())).toEqual({ watchesByStatus: {}, duePolls: 0, oldestDueAgeMs: 0 });
    for (const job of ["job_a", "job_b", "job_c"]) await f.watch(job);
    await f.rows(sql`update watches set status = 'delivered' where job_id = 'job_c'`);
    await f.rows(sql`update polls set status = 'done' where job_id = 'job_c'`);
    f.clock.advance(4_000);
    const snapshot = await loadMetricsSnapshot(f.db, f.clock.now());
    expect(snapshot.watchesByStatus).toEqual({ watching: 2, delivered: 1 });
    expect(snapshot.duePolls).toBe(2); // the done poll is not backlog, however old
    expect(snapshot.oldestDueAgeMs).toBeGreaterThanOrEqual(3_000);
    expect(snapshot.oldestDueAgeMs).toBeLessThanOrEqual(4_000);

    // Once claimed, the polls are scheduled ahead: no backlog.
    await f.claimPolls();
    expect(await loadMetricsSnapshot(f.db, f.clock.now())).toMatchObject({ duePolls: 0, oldestDueAgeMs: 0 });
  });

  it("reads the backlog through the partial index on active polls", async () => {
    await f.watch("job_a");
    const now = f.clock.now().toISOString();
    // Tiny tables are cheaper to scan: forbid the scan to see whether the index can serve the predicate at all.
    const plan = await f.db.orm.transaction(async (tx) => {
      await f.db.rows(sql`set local enable_seqscan = off`, tx);
      return f.db.rows<Record<string, string>>(
        sql`explain select count(*), min(next_poll_at) from polls where status = 'active' and next_poll_at <= ${now}::timestamptz`,
        tx,
      );
    });
    expect(plan.map((r) => Object.values(r)[0]).join("\n")).toContain("polls_due_idx");
  });
});
