import { sql } from "drizzle-orm";
import { claimSchedule } from "../../src/scheduler/poll-timing.js";
import type { Database } from "../../src/db/client.js";
import { bootstrapDefaultTenant } from "../../src/db/queries/bootstrap-tenant.js";
import { DEFAULT_TENANT_ID } from "../../src/domain/tenant.js";
import { claimDuePolls } from "../../src/db/queries/claim-due-polls.js";
import { type ClaimedPoll } from "../../src/domain/poll.js";
import type { DeliveryIntake } from "../../src/domain/delivery.js";
import { createWatch } from "../../src/db/queries/create-watch.js";
import { recordPollResults, type PollWriteSummary } from "../../src/db/queries/record-poll-results.js";
import { decidePoll, releasePoll } from "../../src/scheduler/decide-poll.js";
import { planFanOut } from "../../src/scheduler/plan-fan-out.js";
import { newId } from "../../src/lib/ids.js";
import { backoffPlan } from "../../src/scheduler/plan-polls.js";
import type { JobFetchResult } from "../../src/upstream/client.js";
import type { JobEvent } from "../../src/domain/events.js";
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
  /** Claims due polls through the real query (cadence 1 s – 10 s). */
  claimPolls(options?: { limit?: number; workerId?: string; maxIntervalMs?: number }): Promise<ClaimedPoll[]>;
  /**
   * Writes back polls the way the scheduler does (plain backoff plans): `answer` gives each claimed poll's
   * upstream result, or undefined to release it untouched.
   */
  settlePolls(
    polls: readonly ClaimedPoll[],
    answer: (poll: ClaimedPoll) => JobFetchResult | undefined,
    /** A delivery worker that takes the new messages leased to it (recordPollResults' `intake`). */
    intake?: DeliveryIntake,
  ): Promise<PollWriteSummary>;
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
    claimPolls: (o = {}) =>
      claimDuePolls(db, {
        workerId: o.workerId ?? "w1",
        limit: o.limit ?? 1000,
        now: clock.now(),
        schedule: claimSchedule({ minIntervalMs: 1000, maxIntervalMs: o.maxIntervalMs ?? 10_000 }),
      }),
    settlePolls(polls, answer, intake) {
      const cadence = { minIntervalMs: 1000, maxIntervalMs: 10_000 };
      const plan = (_p: ClaimedPoll, _type: string | undefined, elapsedMs: number) => backoffPlan(elapsedMs, cadence, random);
      const acks = polls.flatMap((p) => {
        const result = answer(p);
        const ack = result ? decidePoll(p, result, { now: clock.now(), cadence, random, plan }) : releasePoll(p, clock.now());
        return ack ? [ack] : [];
      });
      const now = clock.now();
      return recordPollResults(db, acks, {
        intake,
        now,
        planFanOut: (updates, watches) =>
          planFanOut(updates, watches, { newDeliveryId: () => newId("msg", random, now.getTime()) }),
      });
    },
    rows: (query) => db.rows(query),
    async close() {
      await db.close();
      await store.drop();
    },
  };
}
