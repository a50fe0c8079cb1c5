import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/lib/logger.js";
import { startRelay, type Relay } from "../../src/relay.js";
import { startFakeRendley, type FakeRendley } from "../support/fake-rendley.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { captureLogs, relayTestEnv, TEST_API_KEY, TEST_SECRET } from "../support/relay-harness.js";
import { createTestStore, type TestStore } from "../support/test-db.js";
import { waitFor } from "../support/wait-for.js";

const PG = process.env.TEST_DATABASE_URL;
if (!PG)
  console.warn("reliability-clock-skew: TEST_DATABASE_URL is not set, so the two-relay clock test (Postgres only) does not run");

/**
 * Two relays share one Postgres; one's clock is 30 s off. Leases are compared on the database's clock, so the
 * skewed one neither takes a claim the other still holds (+30 s) nor hands out claims that look expired (−30 s).
 */
describe.runIf(PG)("two relays whose clocks differ by 30 s (Postgres)", () => {
  let rendley: FakeRendley;
  let receiver: Receiver;

  beforeAll(async () => {
    [rendley, receiver] = await Promise.all([startFakeRendley(), startReceiver({ secrets: [TEST_SECRET] })]);
  });
  afterAll(async () => {
    await Promise.all([rendley?.close(), receiver?.close()]);
  });

  const relayEnv = (store: TestStore) => ({ ...relayTestEnv(rendley), ...store.env });
  /** Registers a watch on `jobId` through `relay` and returns its id. */
  const register = async (relay: Relay, jobId: string): Promise<string> => {
    const res = await fetch(`${relay.url}/v1/watches`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ job_id: jobId, callback_url: receiver.url() }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as any).data.id;
  };
  const delivered = async (relay: Relay, id: string) => {
    const res = await fetch(`${relay.url}/v1/watches/${id}`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
    return ((await res.json()) as any).data.status === "delivered";
  };

  it.each([30_000, -30_000])(
    "no delivery is sent twice when one relay's clock is off by %i ms",
    async (skewMs) => {
      const store: TestStore = await createTestStore("postgres");
      const env = {
        ...relayEnv(store),
        // A lease of max(LEASE_MS, timeouts + 6 s) = 10 s: much shorter than the skew.
        DELIVERY_TIMEOUT_MS: "3000",
        UPSTREAM_TIMEOUT_MS: "1000",
        DELIVERY_CONCURRENCY: "4",
      };
      const logger = createLogger({ level: "warn", destination: captureLogs().stream });
      const relays: Relay[] = [];
      try {
        // The right one registers and polls; both deliver. The skewed one only delivers (its clock stamps nothing else).
        relays.push(await startRelay(loadConfig(env), { logger }));
        const skewed = { now: () => new Date(Date.now() + skewMs) };
        relays.push(
          await startRelay(loadConfig(env), {
            logger,
            clock: skewed,
            roles: { api: false, scheduler: false, maintenance: false },
          }),
        );
        const first = receiver.received.length;
        receiver.respond({ delayMs: 1_200 }); // every callback takes a while: claims stay held across many claim rounds
        const ids: string[] = [];
        for (let i = 0; i < 16; i++) ids.push(await register(relays[0]!, rendley.addJob({ steps: ["completed"] })));
        for (const id of ids) await waitFor(() => delivered(relays[0]!, id), { timeoutMs: 30_000 });
        const got = receiver.received.slice(first);
        const perId = new Map<string, number>();
        for (const r of got) perId.set(r.webhookId!, (perId.get(r.webhookId!) ?? 0) + 1);
        expect([...perId.values()].filter((n) => n > 1)).toEqual([]);
        expect(perId.size).toBe(16);
      } finally {
        await Promise.all(relays.map((r) => r.stop({ graceMs: 500 })));
        await store.drop();
        receiver.respond({});
      }
    },
    90_000,
  );

  it("two schedulers, one 30 s ahead: times are kept on the database's clock, so no job is polled twice within 1 s", async () => {
    const store: TestStore = await createTestStore("postgres");
    const env = relayEnv(store);
    const { lines, stream } = captureLogs();
    const logger = createLogger({ level: "warn", destination: stream });
    const relays: Relay[] = [];
    try {
      relays.push(await startRelay(loadConfig(env), { logger }));
      const skewed = { now: () => new Date(Date.now() + 30_000) };
      relays.push(
        await startRelay(loadConfig(env), { logger, clock: skewed, roles: { api: false, delivery: false, maintenance: false } }),
      );
      // The skewed relay measured its offset: its times are within a few ms of the right one's.
      expect(Math.abs(relays[1]!.deps.clock.now().getTime() - Date.now())).toBeLessThan(250);
      expect(lines.some((l) => l.includes("clock is off the database's"))).toBe(true);

      const jobs: string[] = [];
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        jobs.push(rendley.addJob({ steps: ["queued", "processing", "processing", "processing", "completed"] }));
        ids.push(await register(relays[0]!, jobs.at(-1)!));
      }
      for (const id of ids) await waitFor(() => delivered(relays[0]!, id), { timeoutMs: 30_000 });
      const gaps = jobs.flatMap((id) => {
        const times = rendley.pollTimes(id).sort((a, b) => a - b);
        expect(times.length).toBeGreaterThanOrEqual(5);
        return times.slice(1).map((t, i) => t - times[i]!);
      });
      // The skewed relay measured its offset to within half a round trip; the floor is 1,000 ms.
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(950);
    } finally {
      await Promise.all(relays.map((r) => r.stop({ graceMs: 500 })));
      await store.drop();
    }
  }, 90_000);
});
