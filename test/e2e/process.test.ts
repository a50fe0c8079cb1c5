import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeRendley, type FakeRendley } from "../support/fake-rendley.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { relayTestEnv, TEST_API_KEY, TEST_SECRET } from "../support/relay-harness.js";
import { preparedDataDir, spawnRelay, type RelayProcess } from "../support/relay-process.js";
import { createTestStore, DRIVERS, type TestStore } from "../support/test-db.js";
import { waitFor } from "../support/wait-for.js";

describe.each(DRIVERS)("the relay process on %s", (driver) => {
  let rendley: FakeRendley;
  let receiver: Receiver;
  let store: TestStore;
  let dataDir: string;
  const running: RelayProcess[] = [];

  beforeAll(async () => {
    rendley = await startFakeRendley();
    receiver = await startReceiver({ secrets: [TEST_SECRET] });
    store = await createTestStore(driver);
    dataDir = driver === "pglite" ? await preparedDataDir() : "unused";
  });
  afterAll(async () => {
    for (const p of running) p.child.kill("SIGKILL");
    await Promise.all(running.map((p) => p.exited));
    await Promise.all([rendley?.close(), receiver?.close()]);
    await store?.drop();
  });

  const env = () => ({
    ...relayTestEnv(rendley),
    ...(store.databaseUrl ? store.env : { RELAY_DATA_DIR: dataDir }),
  });
  const start = async (extra: Record<string, string> = {}) => {
    const p = spawnRelay({ ...env(), ...extra });
    running.push(p);
    return { proc: p, url: await p.ready };
  };
  const call = async (url: string, path: string, init: RequestInit = {}) => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json", ...init.headers },
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const register = async (url: string, jobId: string) => {
    const res = await call(url, "/v1/watches", {
      method: "POST",
      body: JSON.stringify({ job_id: jobId, callback_url: receiver.url() }),
    });
    expect(res.status).toBe(201);
    return res.body.data.id as string;
  };
  const statusOf = async (url: string, id: string) => (await call(url, `/v1/watches/${id}`)).body.data.status as string;

  it("survives kill -9: every watch resumes, every job is delivered, nothing acknowledged is sent again", async () => {
    let { proc, url } = await start();
    // A: delivered and acknowledged before the crash.
    const jobsA = Array.from({ length: 8 }, () => rendley.addJob({ steps: ["completed"] }));
    const watchesA = await Promise.all(jobsA.map((j) => register(url, j)));
    await waitFor(async () => (await Promise.all(watchesA.map((id) => statusOf(url, id)))).every((s) => s === "delivered"), {
      timeoutMs: 20_000,
    });
    // B: still running at the crash. C: finished, its callback in flight (the receiver stalls) at the crash.
    const jobsB = Array.from({ length: 8 }, () => rendley.addJob({ steps: ["processing"] }));
    const watchesB = await Promise.all(jobsB.map((j) => register(url, j)));
    const jobC = rendley.addJob({ steps: ["completed"] });
    receiver.respond((req) => (req.body?.data?.job_id === jobC ? { delayMs: 60_000 } : undefined));
    const watchC = await register(url, jobC);
    await waitFor(() => receiver.received.some((r) => r.body?.data?.job_id === jobC), { timeoutMs: 10_000 });
    await waitFor(() => jobsB.every((j) => rendley.polls(j) >= 1), { timeoutMs: 10_000 });

    proc.child.kill("SIGKILL");
    expect((await proc.exited).signal).toBe("SIGKILL");
    receiver.respond({});
    for (const j of jobsB) rendley.setJob(j, "completed");

    ({ proc, url } = await start());
    await waitFor(
      async () => (await Promise.all([...watchesB, watchC].map((id) => statusOf(url, id)))).every((s) => s === "delivered"),
      {
        timeoutMs: 30_000,
      },
    );

    const acked = new Map<string, number>();
    for (const r of receiver.received)
      if (r.status >= 200 && r.status < 300) acked.set(r.webhookId!, (acked.get(r.webhookId!) ?? 0) + 1);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    expect(acked.size).toBe(8 + 8 + 1);
    expect([...acked.values()].every((n) => n === 1)).toBe(true); // nothing acknowledged was sent again
    const byWatch = (ids: string[]) => ids.map((id) => receiver.received.filter((r) => r.body?.data?.watch_id === id).length);
    expect(byWatch(watchesA)).toEqual(Array(8).fill(1));
    expect(byWatch(watchesB)).toEqual(Array(8).fill(1));
    // C's first attempt died with the process (no answer); the same event went again after the restart.
    const c = receiver.received.filter((r) => r.body?.data?.watch_id === watchC);
    expect(c.length).toBe(2);
    expect(c[0]!.webhookId).toBe(c[1]!.webhookId);

    proc.child.kill("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    const printed = running.flatMap((p) => [...p.stdout, ...p.stderr]).join("\n");
    for (const secret of [TEST_API_KEY, rendley.apiKey, TEST_SECRET]) expect(printed.includes(secret)).toBe(false);
  }, 90_000);

  it("on SIGTERM finishes or releases in-flight work, exits 0 within 10 s, and the next process sends it at once", async () => {
    // A lease of 60 s: a claim left to run out would hold the delivery far past the bound below, however slowly
    // the next process starts on a busy machine.
    const longLease = { LEASE_MS: "60000" };
    let { proc, url } = await start(longLease);
    const jobId = rendley.addJob({ steps: ["completed"] });
    receiver.respond((req) => (req.body?.data?.job_id === jobId ? { delayMs: 60_000 } : undefined));
    const watchId = await register(url, jobId);
    await waitFor(() => receiver.received.some((r) => r.body?.data?.job_id === jobId), { timeoutMs: 10_000 });

    const signaledAt = Date.now();
    proc.child.kill("SIGTERM");
    const exit = await proc.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signaledAt).toBeLessThan(10_000);
    expect(proc.stdout.every((l) => l.startsWith("{"))).toBe(true); // JSON lines only

    receiver.respond({});
    ({ proc, url } = await start(longLease));
    // Released, not left to its 60 s lease: sent as soon as the next process runs.
    await waitFor(() => receiver.received.some((r) => r.body?.data?.job_id === jobId && r.status === 200), {
      timeoutMs: 30_000,
      message: "the released callback sent within 30 s of the restart (its lease would hold it 60 s)",
    });
    await waitFor(async () => (await statusOf(url, watchId)) === "delivered");
    proc.child.kill("SIGTERM");
    expect((await proc.exited).code).toBe(0);
  }, 90_000);
});

describe("starting the process", () => {
  it("refuses a second process on the same PGlite data directory", async () => {
    const [rendley, dataDir] = await Promise.all([startFakeRendley(), preparedDataDir()]);
    const env = {
      PORT: "0",
      HOST: "127.0.0.1",
      RENDLEY_API_URL: rendley.url,
      RENDLEY_API_KEY: rendley.apiKey,
      RELAY_API_KEY: TEST_API_KEY,
      RELAY_DATA_DIR: dataDir,
    };
    const first = spawnRelay(env);
    try {
      await first.ready;
      const second = spawnRelay(env);
      const exit = await second.exited;
      expect(exit.code).toBe(1);
      expect(second.stderr.join("\n")).toMatch(/RELAY_DATA_DIR .* is in use by process \d+/);
      first.child.kill("SIGTERM");
      expect((await first.exited).code).toBe(0);
    } finally {
      first.child.kill("SIGKILL");
      await rendley.close();
    }
  }, 60_000);
  it("stop the start with a message naming each variable", async () => {
    const p = spawnRelay({ POLL_MIN_INTERVAL_MS: "500", RELAY_SIGNING_SECRET: "whsec_short", RELAY_DATA_DIR: "memory://" });
    const exit = await p.exited;
    expect(exit.code).toBe(2);
    const text = p.stderr.join("\n");
    expect(text).toMatch(/RENDLEY_API_KEY is required: set it to your Rendley API key/);
    expect(text).toMatch(/POLL_MIN_INTERVAL_MS must be at least 1000/);
    expect(text).toMatch(/RELAY_SIGNING_SECRET/);
    expect(text).not.toMatch(/\n\s+at /); // no stack trace
  }, 30_000);
});
