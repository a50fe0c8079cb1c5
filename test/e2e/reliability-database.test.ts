import { sql } from "drizzle-orm";
import { freePort } from "../support/http.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/lib/logger.js";
import { startRelay, type Relay } from "../../src/relay.js";
import { startFakeRendley, type FakeRendley } from "../support/fake-rendley.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { captureLogs, relayTestEnv, TEST_API_KEY, TEST_SECRET } from "../support/relay-harness.js";
import { spawnRelay, type RelayProcess } from "../support/relay-process.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { createTestStore, openTestDb, relayDatabaseServer, type TestStore } from "../support/test-db.js";
import { waitFor } from "../support/wait-for.js";

const PG = process.env.TEST_DATABASE_URL;

if (!PG)
  console.warn("reliability-database: TEST_DATABASE_URL is not set, so the database-outage tests (Postgres only) do not run");

/** Outages are cut with a TCP proxy in front of Postgres (or of its pooler): the shared server itself is never restarted. */
describe.runIf(PG)("the relay when its database goes away (Postgres)", () => {
  let rendley: FakeRendley;
  let receiver: Receiver;
  let store: TestStore;
  let proxy: TcpProxy;
  const procs: RelayProcess[] = [];

  beforeAll(async () => {
    [rendley, receiver, store, proxy] = await Promise.all([
      startFakeRendley(),
      startReceiver({ secrets: [TEST_SECRET] }),
      createTestStore("postgres"),
      startTcpProxy(relayDatabaseServer()),
    ]);
  });
  afterAll(async () => {
    for (const p of procs) p.child.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
    await Promise.all([rendley?.close(), receiver?.close(), proxy?.close()]);
    await store?.drop();
  });

  const env = () => ({
    ...relayTestEnv(rendley),
    ...store.env,
    DATABASE_URL: proxy.via(store.databaseUrl!),
  });
  const get = async (base: string, path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
    return { status: res.status, body: (await res.json()) as any };
  };

  it("waits for a database that is not there at start, one log line per attempt, then becomes ready", async () => {
    proxy.cut();
    const port = await freePort();
    const proc = spawnRelay({ ...env(), PORT: String(port) });
    procs.push(proc);
    const retries = () => proc.stdout.filter((l) => l.includes("database not reachable at start; retrying"));
    await waitFor(() => retries().length >= 2, { timeoutMs: 45_000 }); // a loaded machine takes seconds to start node + tsx
    expect(proc.child.exitCode).toBeNull(); // still waiting, not exited
    const line = JSON.parse(retries()[1]!);
    expect(line).toMatchObject({ attempt: 2, retryInMs: 2_000 });
    // Alive but not ready while it waits: an orchestrator neither restarts it nor sends it traffic.
    expect((await get(`http://127.0.0.1:${port}`, "/healthz")).status).toBe(200);
    const waiting = await get(`http://127.0.0.1:${port}`, "/readyz");
    expect(waiting).toMatchObject({ status: 503, body: { data: { status: "not_ready", checks: { database: "unreachable" } } } });

    proxy.restore();
    const url = await proc.ready;
    expect(url).toBe(`http://127.0.0.1:${port}`);
    await waitFor(async () => (await get(url, "/readyz")).status === 200, { timeoutMs: 10_000 });
    proc.child.kill("SIGTERM");
    expect((await proc.exited).code).toBe(0);
  }, 60_000);

  it("mid-run: /readyz says 503 while it is gone, results that could not be acknowledged are written once it is back", async () => {
    proxy.restore();
    const { stream } = captureLogs();
    // A lease longer than the outage: nothing may be sent twice here.
    const relay: Relay = await startRelay(loadConfig({ ...env(), LEASE_MS: "30000", DELIVERY_TIMEOUT_MS: "10000" }), {
      logger: createLogger({ level: "debug", destination: stream }),
    });
    try {
      expect((await get(relay.url, "/readyz")).status).toBe(200);
      // Every callback stalls 4 s: the database goes away while they are in flight, so their acks fail.
      receiver.respond({ delayMs: 4_000 });
      const watchIds: string[] = [];
      for (let i = 0; i < 6; i++) {
        const jobId = rendley.addJob({ steps: ["completed"] });
        const res = await fetch(`${relay.url}/v1/watches`, {
          method: "POST",
          headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ job_id: jobId, callback_url: receiver.url() }),
        });
        expect(res.status).toBe(201);
        watchIds.push(((await res.json()) as any).data.id);
      }
      await waitFor(() => receiver.received.length >= 6, { timeoutMs: 15_000 });
      proxy.cut();
      await waitFor(async () => (await get(relay.url, "/readyz")).status === 503, { timeoutMs: 5_000 });
      expect((await get(relay.url, "/readyz")).body.data.checks.database).toBe("unreachable");
      expect((await get(relay.url, "/healthz")).status).toBe(200);
      await waitFor(() => receiver.received.filter((r) => r.status === 200).length >= 6, { timeoutMs: 15_000 });
      // The receiver said 200, but the results cannot be written: seen from outside the proxy, the claims are still held.
      const direct = await openTestDb(store);
      try {
        const held = await direct.rows<{ n: number }>(
          sql`select count(*)::int as n from deliveries where status = 'pending' and locked_by is not null`,
        );
        expect(held[0]!.n).toBe(6);
      } finally {
        await direct.close();
      }
      expect(relay.delivery.contiguousErrors).toBeGreaterThan(0);

      proxy.restore();
      await waitFor(async () => (await get(relay.url, "/readyz")).status === 200, { timeoutMs: 10_000 });
      receiver.respond({});
      for (const id of watchIds) {
        await waitFor(async () => (await get(relay.url, `/v1/watches/${id}`)).body.data.status === "delivered", {
          timeoutMs: 20_000,
        });
      }
      // Within the lease: each event went once, and its attempt was logged once (the retried ack applied once).
      const acked = receiver.received.filter((r) => r.status === 200).map((r) => r.webhookId);
      expect(new Set(acked).size).toBe(acked.length);
      const attempts = await relay.deps.db.rows<{ delivery_id: string; n: number }>(
        sql`select delivery_id, count(*)::int as n from delivery_attempts group by delivery_id`,
      );
      for (const a of attempts) expect(a.n).toBe(receiver.byWebhookId(a.delivery_id).length);
      // The loops did not die with the outage: a new watch still goes through.
      const late = rendley.addJob({ steps: ["completed"] });
      const res = await fetch(`${relay.url}/v1/watches`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ job_id: late, callback_url: receiver.url() }),
      });
      const lateId = ((await res.json()) as any).data.id;
      await waitFor(async () => (await get(relay.url, `/v1/watches/${lateId}`)).body.data.status === "delivered", {
        timeoutMs: 15_000,
      });
    } finally {
      proxy.restore();
      await relay.stop({ graceMs: 500 });
    }
  }, 90_000);

  it("a connection lost during the default tenant's bootstrap at start: the start is retried, not given up", async () => {
    proxy.restore();
    proxy.resetWhen(/insert into tenants/);
    const proc = spawnRelay(env());
    procs.push(proc);
    const url = await proc.ready;
    expect(proxy.resets).toBe(1);
    const retried = proc.stdout.filter((l) => l.includes("database not reachable at start; retrying"));
    expect(retried).toHaveLength(1);
    expect((await get(url, "/readyz")).status).toBe(200);
    expect((await get(url, "/v1/watches")).status).toBe(200);
    proc.child.kill("SIGTERM");
    expect((await proc.exited).code).toBe(0);
  }, 60_000);

  it("a connection that dies while postgres.js fetches its array types (porsager/postgres#1223) does not end the process", async () => {
    proxy.restore();
    const proc = spawnRelay(env());
    procs.push(proc);
    const url = await proc.ready;
    // Every connection is dropped, and the next three that start are reset during their array-type fetch.
    const before = proxy.resets;
    proxy.resetWhen(/typarray/, 3);
    proxy.cut();
    await waitFor(async () => (await get(url, "/readyz")).status === 503, { timeoutMs: 10_000 });
    proxy.restore();
    await waitFor(() => proxy.resets - before === 3, {
      timeoutMs: 20_000,
      message: "three connections reset in their type fetch",
    });
    await waitFor(async () => (await get(url, "/readyz")).status === 200, { timeoutMs: 15_000 });
    expect(proc.child.exitCode).toBeNull();
    const survived = proc.stdout.filter((l) => l.includes("porsager/postgres#1223"));
    expect(survived.length).toBeGreaterThan(0);
    expect(proc.stderr.filter((l) => /uncaught|unhandled/i.test(l))).toEqual([]);
    // Still working, not only alive: a watch goes through to its callback.
    const jobId = rendley.addJob({ steps: ["completed"] });
    const res = await fetch(`${url}/v1/watches`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ job_id: jobId, callback_url: receiver.url() }),
    });
    expect(res.status).toBe(201);
    const id = ((await res.json()) as any).data.id;
    await waitFor(async () => (await get(url, `/v1/watches/${id}`)).body.data.status === "delivered", { timeoutMs: 15_000 });
    proc.child.kill("SIGTERM");
    expect((await proc.exited).code).toBe(0);
  }, 90_000);
});
