import { sql } from "drizzle-orm";
import type { Database } from "../../src/db/client.js";
import { bootstrapDefaultTenant, DEFAULT_TENANT_ID } from "../../src/db/queries/bootstrap-tenant.js";
import { createWatch } from "../../src/db/queries/create-watch.js";
import type { JobEvent } from "../../src/delivery/events.js";
import { createFakeClock, type FakeClock } from "../../src/lib/clock.js";
import { createSeededRandom, type Random } from "../../src/lib/random.js";
import { TEST_API_KEY, TEST_SECRET } from "./relay-harness.js";
import { createTestStore, openTestDb, type DriverName, type TestStore } from "./test-db.js";

/** A migrated database with the default tenant, a fake clock and seeded randomness: for storage tests. */
export interface StorageFixture {
  db: Database;
  store: TestStore;
  clock: FakeClock;
  random: Random;
  tenantId: string;
  /** Registers a watch through the real query (callback URL checks are the API's job, not tested here). */
  watch(
    jobId: string,
    options?: { events?: JobEvent[]; metadata?: Record<string, unknown> | null; url?: string },
  ): Promise<string>;
  /** Rows of a table, for asserting what changed and what did not. */
  rows<T>(query: ReturnType<typeof sql>): Promise<T[]>;
  close(): Promise<void>;
}

export async function createStorageFixture(driver: DriverName): Promise<StorageFixture> {
  const store = await createTestStore(driver);
  const db = await openTestDb(store);
  const clock = createFakeClock(Date.UTC(2026, 0, 1, 12));
  const random = createSeededRandom(42);
  await bootstrapDefaultTenant(db, { relayApiKey: TEST_API_KEY, signingSecret: TEST_SECRET, random, now: clock.now() });
  return {
    db,
    store,
    clock,
    random,
    tenantId: DEFAULT_TENANT_ID,
    async watch(jobId, options = {}) {
      const { watchId } = await createWatch(
        db,
        {
          tenantId: DEFAULT_TENANT_ID,
          jobId,
          callbackUrl: options.url ?? "https://receiver.example/hook",
          events: options.events ?? ["job.completed", "job.failed", "job.canceled"],
          metadata: options.metadata ?? null,
        },
        { now: clock.now(), random, pollMinIntervalMs: 1000 },
      );
      return watchId;
    },
    rows: (query) => db.rows(query),
    async close() {
      await db.close();
      await store.drop();
    },
  };
}
