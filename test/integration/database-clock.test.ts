import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabaseClock } from "../../src/db/database-clock.js";
import { toDate } from "../../src/db/sql-values.js";
import { createStorageFixture, type StorageFixture } from "../support/storage.js";
import { DRIVERS } from "../support/test-db.js";

describe.each(DRIVERS)("the database clock on %s", (driver) => {
  let f: StorageFixture;
  beforeAll(async () => {
    f = await createStorageFixture(driver);
  });
  afterAll(async () => {
    await f?.close();
  });

  const databaseNow = async () => {
    const [row] = await f.db.rows<{ now: Date | string }>(sql`select clock_timestamp() as now`);
    return toDate(row!.now)!.getTime();
  };

  it.each([45_000, -45_000])("a process clock off by %i ms reads the database's time once measured", async (skewMs) => {
    const clock = createDatabaseClock(f.db, { now: () => new Date(Date.now() + skewMs) });
    expect(clock.now().getTime() - Date.now()).toBeCloseTo(skewMs, -3); // not measured yet: the process clock
    await clock.sync();
    expect(clock.offsetMs).toBeGreaterThan(-skewMs - 250);
    expect(clock.offsetMs).toBeLessThan(-skewMs + 250);
    const before = await databaseNow();
    const read = clock.now().getTime();
    const after = await databaseNow();
    expect(read).toBeGreaterThanOrEqual(before - 250);
    expect(read).toBeLessThanOrEqual(after + 250);
  });

  it("keeps the last offset when a measurement fails, and start() does not throw", async () => {
    const warnings: string[] = [];
    const logger = { warn: (_: unknown, msg: string) => warnings.push(msg), debug: () => {} } as never;
    let broken = false;
    const db = {
      ...f.db,
      rows: (query: never) => (broken ? Promise.reject(new Error("connection lost")) : f.db.rows(query)),
    } as typeof f.db;
    const clock = createDatabaseClock(db, { now: () => new Date(Date.now() + 20_000) }, { logger, intervalMs: 60_000 });
    await clock.start();
    const measured = clock.offsetMs;
    expect(Math.abs(measured + 20_000)).toBeLessThan(250);
    expect(warnings).toContain("this host's clock is off the database's; the relay keeps its times on the database's clock");
    broken = true;
    await expect(clock.sync()).rejects.toThrow("connection lost");
    expect(clock.offsetMs).toBe(measured);
    clock.stop();
  });
});
