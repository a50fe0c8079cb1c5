import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config.js";
import type { Database } from "../../src/db/client.js";
import { acquireLease, releaseLease } from "../../src/db/queries/acquire-lease.js";
import { cancelWatch } from "../../src/db/queries/cancel-watch.js";
import { pruneFinished } from "../../src/db/queries/prune-finished.js";
import { ts } from "../../src/db/sql-values.js";
import type { Deps } from "../../src/deps.js";
import { createLogger } from "../../src/lib/logger.js";
import { createMaintenance, MAINTENANCE_LEASE } from "../../src/maintenance/maintenance.js";
import { captureLogs } from "../support/relay-harness.js";
import { createStorageFixture, type StorageFixture } from "../support/storage.js";
import { DRIVERS, openTestDb } from "../support/test-db.js";

const DAY = 86_400_000;
const RETENTION_DAYS = 30;
const INTERVAL_MS = 60_000;

describe.each(DRIVERS)("maintenance on %s", (driver) => {
  let f: StorageFixture;
  let extraDbs: Database[] = [];
  beforeEach(async () => {
    f = await createStorageFixture(driver);
  });
  afterEach(async () => {
    await Promise.all(extraDbs.map((db) => db.close()));
    extraDbs = [];
    await f?.close();
  });

  const cutoff = () => new Date(f.clock.now().getTime() - RETENTION_DAYS * DAY);
  const ago = (ms: number) => new Date(cutoff().getTime() - ms);

  /** Polls the listed jobs once through the real queries, answering `completed`: their watches get their final delivery. */
  const complete = async (...jobIds: string[]) => {
    const polls = await f.claimPolls();
    await f.settlePolls(polls, (p) =>
      jobIds.includes(p.jobId) ? { kind: "ok", job: { id: p.jobId, status: "completed" } } : undefined,
    );
  };
  /** Sets a watch's status and updated_at (and its deliveries' status) the way time and the workers would. */
  const settle = async (watchId: string, status: string, updatedAt: Date, deliveryStatus?: string) => {
    await f.rows(sql`update watches set status = ${status}, updated_at = ${ts(updatedAt)} where id = ${watchId}`);
    if (deliveryStatus) await f.rows(sql`update deliveries set status = ${deliveryStatus} where watch_id = ${watchId}`);
  };
  /** Logs `n` attempts for each delivery of the watch. */
  const attempts = async (watchId: string, n: number) => {
    await f.rows(sql`
      insert into delivery_attempts (tenant_id, delivery_id, attempt, trigger, at, status_code, duration_ms)
      select d.tenant_id, d.id, g, 'scheduled', ${ts(f.clock.now())}, 500, 10
      from deliveries d, generate_series(1, ${n}::int) g where d.watch_id = ${watchId}`);
  };
  const ids = async (table: "watches" | "deliveries" | "polls") =>
    (await f.rows<{ id: string }>(sql`select id from ${sql.identifier(table)} order by id`)).map((r) => r.id);
  const pollOf = async (jobId: string) =>
    (await f.rows<{ id: string; status: string }>(sql`select id, status from polls where job_id = ${jobId}`))[0];
  const count = async (table: string) =>
    (await f.rows<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)}`))[0]!.n;

  const depsFor = (db: Database, logStream?: NodeJS.WritableStream) =>
    ({
      config: { retentionDays: RETENTION_DAYS, maintenanceIntervalMs: INTERVAL_MS } as Config,
      db,
      clock: f.clock,
      logger: createLogger({ level: logStream ? "info" : "silent", ...(logStream ? { destination: logStream as never } : {}) }),
    }) as unknown as Deps;

  it("prunes exactly the finished watches older than the retention, their deliveries and attempts, and orphaned polls", async () => {
    const w = {
      oldDelivered: await f.watch("job_a"),
      oldFailed: await f.watch("job_b"),
      oldCanceled: await f.watch("job_c"),
      oldExpired: await f.watch("job_d"),
      youngByOneMs: await f.watch("job_e"),
      atCutoff: await f.watch("job_f"),
      oldWatching: await f.watch("job_g"),
      oldDelivering: await f.watch("job_h"),
      failedRedelivering: await f.watch("job_i"),
      sharedOld: await f.watch("job_s"),
      sharedWatching: await f.watch("job_s"),
      pairOld: await f.watch("job_p"),
      pairYoung: await f.watch("job_p"),
    };
    await complete("job_a", "job_b", "job_e", "job_f", "job_h", "job_i", "job_p");
    expect(await count("deliveries")).toBe(8);
    await cancelWatch(f.db, f.tenantId, w.oldCanceled, f.clock.now());
    await f.rows(sql`update polls set status = 'expired' where job_id = 'job_d'`);

    await settle(w.oldDelivered, "delivered", ago(1), "delivered");
    await attempts(w.oldDelivered, 2);
    await settle(w.oldFailed, "failed", ago(10 * DAY), "failed");
    await attempts(w.oldFailed, 3);
    await settle(w.oldCanceled, "canceled", ago(DAY));
    await settle(w.oldExpired, "expired", ago(DAY));
    await settle(w.youngByOneMs, "delivered", ago(-1), "delivered");
    await attempts(w.youngByOneMs, 1);
    await settle(w.atCutoff, "delivered", cutoff(), "delivered");
    await settle(w.oldWatching, "watching", ago(100 * DAY));
    await settle(w.oldDelivering, "delivering", ago(100 * DAY));
    await attempts(w.oldDelivering, 2);
    await settle(w.failedRedelivering, "failed", ago(100 * DAY), "pending"); // a redelivery in progress
    await attempts(w.failedRedelivering, 4);
    await settle(w.sharedOld, "delivered", ago(DAY));
    await settle(w.pairOld, "delivered", ago(DAY), "delivered");
    await attempts(w.pairOld, 1);
    await settle(w.pairYoung, "delivered", f.clock.now());
    await f.rows(sql`update deliveries set status = 'delivered' where watch_id = ${w.pairYoung}`);

    const before = { deliveries: await ids("deliveries"), attemptCount: await count("delivery_attempts") };
    const pruned = [w.oldDelivered, w.oldFailed, w.oldCanceled, w.oldExpired, w.sharedOld, w.pairOld];
    const prunedDeliveries = (
      await f.rows<{ id: string }>(sql`select id from deliveries where watch_id in (${sql.join(pruned, sql`, `)})`)
    ).map((r) => r.id);
    expect(prunedDeliveries).toHaveLength(3);
    const keptPolls = await Promise.all(["job_e", "job_f", "job_g", "job_h", "job_i", "job_s", "job_p"].map(pollOf));
    expect((await pollOf("job_s"))!.status).toBe("active");
    expect((await pollOf("job_p"))!.status).toBe("done");

    expect(await pruneFinished(f.db, { olderThan: cutoff(), batchSize: 500 })).toEqual({
      watches: 6,
      deliveries: 3,
      attempts: 6,
      polls: 4,
    });
    const kept = Object.values(w).filter((id) => !pruned.includes(id));
    expect(await ids("watches")).toEqual([...kept].sort());
    expect(await ids("deliveries")).toEqual(before.deliveries.filter((id) => !prunedDeliveries.includes(id)));
    expect(await count("delivery_attempts")).toBe(before.attemptCount - 6);
    expect(await ids("polls")).toEqual(keptPolls.map((p) => p!.id).sort());
    const orphans = await f.rows(
      sql`select d.id from delivery_attempts a left join deliveries d on d.id = a.delivery_id where d.id is null`,
    );
    expect(orphans).toEqual([]);

    // Nothing left to do: a second pass changes nothing.
    expect(await pruneFinished(f.db, { olderThan: cutoff(), batchSize: 500 })).toEqual({
      watches: 0,
      deliveries: 0,
      attempts: 0,
      polls: 0,
    });
  });

  it("scopes to one tenant when asked", async () => {
    const mine = await f.watch("job_a");
    await f.rows(sql`insert into tenants (id, name) values ('ten_other', 'other')`);
    const theirs = await f.watch("job_b");
    await f.rows(sql`update polls set tenant_id = 'ten_other' where job_id = 'job_b'`);
    await f.rows(sql`update watches set tenant_id = 'ten_other' where id = ${theirs}`);
    await settle(mine, "delivered", ago(DAY));
    await settle(theirs, "delivered", ago(DAY));
    expect(await pruneFinished(f.db, { tenantId: "ten_other", olderThan: cutoff(), batchSize: 10 })).toMatchObject({
      watches: 1,
    });
    expect(await ids("watches")).toEqual([mine]);
  });

  it("works across several batches, and maintenance logs one line with the totals", async () => {
    const jobs = Array.from({ length: 7 }, (_, i) => `job_${i}`);
    const watchIds = [];
    for (const job of jobs) watchIds.push(await f.watch(job));
    await complete(...jobs);
    for (const id of watchIds) {
      await settle(id, "delivered", ago(DAY), "delivered");
      await attempts(id, 2);
    }

    const batches = [];
    for (;;) {
      const got = await pruneFinished(f.db, { olderThan: cutoff(), batchSize: 2 });
      batches.push(got);
      if (got.watches < 2) break;
    }
    expect(batches.map((b) => b.watches)).toEqual([2, 2, 2, 1]);
    expect(batches.reduce((n, b) => n + b.attempts, 0)).toBe(14);
    expect(batches.reduce((n, b) => n + b.polls, 0)).toBe(7);
    expect(await count("watches")).toBe(0);

    // The same through the maintenance pass.
    const more = [];
    for (const job of jobs) more.push(await f.watch(`${job}_again`));
    for (const id of more) await settle(id, "delivered", ago(DAY));
    const { lines, stream } = captureLogs();
    const m = createMaintenance(depsFor(f.db, stream), { workerId: "relay-1", batchSize: 2 });
    expect(await m.runOnce()).toEqual({ ran: true, watches: 7, deliveries: 0, attempts: 0, polls: 0 });
    expect(await m.runOnce()).toEqual({ ran: true, watches: 0, deliveries: 0, attempts: 0, polls: 0 });
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "pruned finished watches");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ component: "maintenance", level: "info", watches: 7, batches: 4 });
    await m.stop();
  });

  it("elects one owner with the lease; the other takes over after expiry; the owner renews", async () => {
    const t0 = f.clock.now().getTime();
    const at = (ms: number) => new Date(t0 + ms);
    const lease = (owner: string, ms: number) => acquireLease(f.db, { name: "maint", owner, now: at(ms), ttlMs: 10_000 });
    expect(await lease("a", 0)).toBe(true);
    expect(await lease("b", 0)).toBe(false);
    expect(await lease("b", 9_999)).toBe(false);
    expect(await lease("a", 5_000)).toBe(true); // renewed until 15 000
    expect(await lease("b", 14_999)).toBe(false);
    expect(await lease("b", 15_000)).toBe(true); // expired: taken over
    expect(await lease("a", 15_001)).toBe(false);
    expect(await f.rows(sql`select owner, expires_at from leases where name = 'maint'`)).toEqual([
      { owner: "b", expires_at: expect.anything() },
    ]);
    expect(await releaseLease(f.db, { name: "maint", owner: "a" })).toBe(false);
    expect(await releaseLease(f.db, { name: "maint", owner: "b" })).toBe(true);
    expect(await lease("a", 15_002)).toBe(true);

    // Two relays: one runs maintenance, the other skips until the owner's lease lapses or it stops.
    const old = await f.watch("job_a");
    await settle(old, "delivered", ago(DAY));
    const m1 = createMaintenance(depsFor(f.db), { workerId: "relay-1" });
    const m2 = createMaintenance(depsFor(f.db), { workerId: "relay-2" });
    expect(await m1.runOnce()).toMatchObject({ ran: true, watches: 1 });
    expect(await m2.runOnce()).toMatchObject({ ran: false, watches: 0 });
    f.clock.advance(2 * INTERVAL_MS - 1);
    expect(await m2.runOnce()).toMatchObject({ ran: false });
    f.clock.advance(1);
    expect(await m2.runOnce()).toMatchObject({ ran: true });
    expect(await m1.runOnce()).toMatchObject({ ran: false });
    await m2.stop(); // gives the lease up: the other takes over at once
    expect(await f.rows(sql`select owner from leases where name = ${MAINTENANCE_LEASE}`)).toEqual([]);
    expect(await m1.runOnce()).toMatchObject({ ran: true });
  });

  it("start() runs a first pass shortly after start and keeps going after an error; stop() waits for it", async () => {
    const old = await f.watch("job_a");
    await settle(old, "delivered", ago(DAY));
    const { lines, stream } = captureLogs();
    const m = createMaintenance(depsFor(f.db, stream), { workerId: "relay-1", firstRunMs: 10 });
    m.start();
    for (let i = 0; i < 200 && (await count("watches")) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    await m.stop();
    expect(await count("watches")).toBe(0);
    expect(lines.some((l) => l.includes("pruned finished watches"))).toBe(true);

    // A database error is logged and does not stop the loop.
    const broken = { ...f.db, rows: () => Promise.reject(new Error("boom")) } as unknown as Database;
    const failing = createMaintenance(depsFor(broken, stream), { workerId: "relay-1", firstRunMs: 1 });
    failing.start();
    for (let i = 0; i < 200 && !lines.some((l) => l.includes("maintenance pass failed")); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await failing.stop();
    expect(lines.some((l) => l.includes("maintenance pass failed") && l.includes("boom"))).toBe(true);
  });

  it.runIf(driver === "postgres")(
    "two relays on separate connections prune each row once, in parallel, without errors",
    async () => {
      const jobs = Array.from({ length: 30 }, (_, i) => `job_${i}`);
      for (const job of jobs) {
        await f.watch(job);
        await f.watch(job); // two watches per poll: the last two of a job may go in different transactions
      }
      await complete(...jobs);
      await f.rows(sql`update watches set status = 'delivered', updated_at = ${ts(ago(DAY))}`);
      await f.rows(sql`update deliveries set status = 'delivered'`);
      await f.rows(sql`
      insert into delivery_attempts (tenant_id, delivery_id, attempt, trigger, at, status_code, duration_ms)
      select d.tenant_id, d.id, g, 'scheduled', ${ts(f.clock.now())}, 200, 10 from deliveries d, generate_series(1, 3) g`);
      const totals = { watches: 60, deliveries: 60, attempts: 180, polls: 30 };
      const a = await openTestDb(f.store);
      const b = await openTestDb(f.store);
      extraDbs.push(a, b);

      // Batches of 3 raced from both connections until both find nothing.
      const drain = async (db: Database) => {
        const sum = { watches: 0, deliveries: 0, attempts: 0, polls: 0 };
        for (;;) {
          const got = await pruneFinished(db, { olderThan: cutoff(), batchSize: 3 });
          for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += got[k];
          if (got.watches === 0) return sum;
        }
      };
      const [ra, rb] = await Promise.all([drain(a), drain(b)]);
      expect({
        watches: ra.watches + rb.watches,
        deliveries: ra.deliveries + rb.deliveries,
        attempts: ra.attempts + rb.attempts,
        polls: ra.polls + rb.polls,
      }).toEqual(totals);
      expect(await count("polls")).toBe(0);
    },
  );

  it.runIf(driver === "postgres")("two maintenance passes in parallel on separate connections never error", async () => {
    const jobs = Array.from({ length: 20 }, (_, i) => `job_${i}`);
    for (const job of jobs) {
      await f.watch(job);
      await f.watch(job);
    }
    await complete(...jobs);
    await f.rows(sql`update watches set status = 'delivered', updated_at = ${ts(ago(DAY))}`);
    await f.rows(sql`update deliveries set status = 'delivered'`);
    const a = await openTestDb(f.store);
    const b = await openTestDb(f.store);
    extraDbs.push(a, b);
    // Different owners: the lease lets one through.
    const [r1, r2] = await Promise.all([
      createMaintenance(depsFor(a), { workerId: "relay-1", batchSize: 2 }).runOnce(),
      createMaintenance(depsFor(b), { workerId: "relay-2", batchSize: 2 }).runOnce(),
    ]);
    expect([r1.ran, r2.ran].sort()).toEqual([false, true]);
    expect(r1.watches + r2.watches).toBe(40);
    expect(r1.polls + r2.polls).toBe(20);

    // The same owner on both (a lease renewed from two connections): both prune, each row once.
    await f.rows(sql`delete from leases`);
    for (const job of jobs) {
      await f.watch(`${job}_b`);
      await f.watch(`${job}_b`);
    }
    await complete(...jobs.map((j) => `${j}_b`));
    await f.rows(sql`update watches set status = 'delivered', updated_at = ${ts(ago(DAY))}`);
    await f.rows(sql`update deliveries set status = 'failed'`);
    const [s1, s2] = await Promise.all([
      createMaintenance(depsFor(a), { workerId: "relay-1", batchSize: 2 }).runOnce(),
      createMaintenance(depsFor(b), { workerId: "relay-1", batchSize: 2 }).runOnce(),
    ]);
    expect(s1.ran && s2.ran).toBe(true);
    expect(s1.watches + s2.watches).toBe(40);
    expect(s1.deliveries + s2.deliveries).toBe(40);
    expect(s1.polls + s2.polls).toBe(20);
    expect(await count("watches")).toBe(0);
    expect(await count("polls")).toBe(0);
  });
});
