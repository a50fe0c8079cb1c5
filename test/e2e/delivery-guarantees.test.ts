import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startWorld, TEST_SECRET, type TestWorld } from "../support/relay-harness.js";
import { waitFor } from "../support/wait-for.js";

const callbacksOf = (world: TestWorld, watchId: string, receiver: Receiver = world.receiver) =>
  receiver.received.filter((r) => r.body?.data?.watch_id === watchId);
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);
const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.99) - 1]!;

describe("retry schedule and receiver control", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  /** Answers this job's callbacks with `spec(n)` for the n-th one (1-based). */
  const answer = (
    jobId: string,
    spec: (n: number) => { status?: number; headers?: Record<string, string>; destroy?: boolean; body?: string },
  ) => {
    let n = 0;
    world.receiver.respond((req) => (req.body?.data?.job_id === jobId ? spec(++n) : undefined));
  };

  it("follows the watch's own retry_schedule with ±20% jitter", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    answer(jobId, () => ({ status: 500 }));
    const watch = await world.watch({ job_id: jobId, retry_schedule: "400ms,400ms,400ms,400ms" });
    expect(watch.retry_schedule).toBe("400ms,400ms,400ms,400ms");
    const failed = await world.waitForWatch(watch.id, (w) => w.status === "failed");
    const times = callbacksOf(world, watch.id).map((c) => c.at);
    expect(times).toHaveLength(5);
    for (const gap of gaps(times)) {
      expect(gap).toBeGreaterThanOrEqual(320 - 5); // 400 ms − 20%
      expect(gap).toBeLessThan(480 + 1_000); // 400 ms + 20%, plus the claim tick and a loaded machine
    }
    expect(failed.deliveries[0].last_error).toBe("exhausted: 5 attempts, last status 500");
  });

  it("honours Retry-After on 429/503, clamped between the scheduled delay and twice it", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    // 503 asking for 0 s → the scheduled 700 ms; 503 asking for 5 s → at most 2 × 700 ms.
    answer(jobId, (n) =>
      n === 1
        ? { status: 503, headers: { "retry-after": "0" } }
        : n === 2
          ? { status: 503, headers: { "retry-after": "5" } }
          : {},
    );
    const watch = await world.watch({ job_id: jobId, retry_schedule: "700ms,700ms" });
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const [first, second] = gaps(callbacksOf(world, watch.id).map((c) => c.at));
    expect(first).toBeGreaterThanOrEqual(695);
    expect(first).toBeLessThan(700 + 1_000);
    expect(second).toBeGreaterThanOrEqual(1_395);
    expect(second).toBeLessThan(1_400 + 1_000);
  });

  it("ends a delivery when the receiver answers webhook-delivery: abort-message", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    answer(jobId, () => ({ status: 500, headers: { "webhook-delivery": "abort-message" }, body: "no thanks" }));
    const watch = await world.watch({ job_id: jobId });
    const failed = await world.waitForWatch(watch.id, (w) => w.status === "failed");
    expect(callbacksOf(world, watch.id)).toHaveLength(1);
    expect(failed.deliveries[0].last_error).toMatch(/^gone: .*abort-message/);
    expect(failed.deliveries[0].attempts[0]).toMatchObject({ status_code: 500, error: "status", response_excerpt: "no thanks" });
  });

  it("retries a connection reset at once without counting it as an attempt", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    answer(jobId, (n) => (n === 1 ? { destroy: true } : {}));
    const watch = await world.watch({ job_id: jobId });
    const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const cbs = callbacksOf(world, watch.id);
    expect(cbs).toHaveLength(2);
    expect(cbs[1]!.at - cbs[0]!.at).toBeLessThan(500);
    expect(done.deliveries[0].attempts).toHaveLength(1);
    expect(done.deliveries[0].attempts[0]).toMatchObject({ attempt: 1, status_code: 200 });
  });

  it("keeps the first 1 KiB of the response and records where a redirect pointed", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    answer(jobId, (n) =>
      n === 1 ? { status: 302, headers: { location: "http://127.0.0.1:1/elsewhere" } } : { body: "x".repeat(30_000) },
    );
    const watch = await world.watch({ job_id: jobId });
    const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const [redirect, ok] = done.deliveries[0].attempts;
    expect(redirect).toMatchObject({ status_code: 302, error: "redirect", location: "http://127.0.0.1:1/elsewhere" });
    expect(ok).toMatchObject({ status_code: 200, error: null, response_excerpt: "x".repeat(1024) });
  });

  it("sends callback_headers, never shows their values, and refuses reserved ones", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    const watch = await world.watch({ job_id: jobId, callback_headers: { "X-Hook-Token": "tok_s3cr3t_value", "X-Env": "test" } });
    expect(watch.callback_headers).toEqual({ "X-Hook-Token": "[redacted]", "X-Env": "[redacted]" });
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const [cb] = callbacksOf(world, watch.id);
    expect(cb!.headers["x-hook-token"]).toBe("tok_s3cr3t_value");
    expect(cb!.verified).toBe(true);
    const listed = await world.api(`/v1/watches?job_id=${jobId}`);
    expect(JSON.stringify(listed.body)).not.toContain("tok_s3cr3t_value");
    expect(world.logs.join("\n")).not.toContain("tok_s3cr3t_value");

    for (const headers of [
      { "Content-Type": "text/plain" },
      { "webhook-signature": "v1,forged" },
      { "User-Agent": "x" },
      { "bad name": "x" },
      { "X-Crlf": "a\r\nInjected: yes" },
      { a: "1", b: "2", c: "3", d: "4", e: "5", f: "6" },
    ]) {
      const res = await world.api("/v1/watches", {
        method: "POST",
        json: { job_id: jobId, callback_url: world.receiver.url(), callback_headers: headers },
      });
      expect({ headers, status: res.status }).toEqual({ headers, status: 400 });
    }
  });

  it("refuses retry schedules over 20 delays or 7 days", async () => {
    for (const retry_schedule of [Array(21).fill("1s").join(","), "4d,4d", "5", "1s,,2s"]) {
      const res = await world.api("/v1/watches", {
        method: "POST",
        json: { job_id: "job_x", callback_url: world.receiver.url(), retry_schedule },
      });
      expect({ retry_schedule, status: res.status, code: res.body.error?.code }).toEqual({
        retry_schedule,
        status: 400,
        code: "validation_failed",
      });
    }
  });

  it("keeps the body under 256 KiB by dropping the job's input_data", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"], input: { blob: "z".repeat(300 * 1024) } });
    const watch = await world.watch({ job_id: jobId });
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const [cb] = callbacksOf(world, watch.id);
    expect(cb!.rawBody.length).toBeLessThan(256 * 1024);
    expect(cb!.body.data.truncated).toBe(true);
    expect(cb!.body.data.job.input_data).toBeNull();
    expect(cb!.body.data.job.result_data).toEqual(world.rendley.job(jobId)!.result_data);
    expect(cb!.verified).toBe(true);
  });
});

describe("fresh result links on late attempts", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld({ env: { RESULT_REFRESH_AFTER_MS: "300" } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("re-reads the job when an attempt runs long after the job was fetched, and on every redelivery", async () => {
    const jobId = world.rendley.addJob({
      steps: [{ status: "completed", result_data: { storage_url: "https://storage.rendley.com/v1.mp4" } }],
    });
    let n = 0;
    world.receiver.respond((req) => (req.body?.data?.job_id === jobId && ++n === 1 ? { status: 500 } : undefined));
    const watch = await world.watch({ job_id: jobId, retry_schedule: "600ms" });
    await waitFor(() => callbacksOf(world, watch.id).length === 1);
    // The link expires and Rendley hands out a new one.
    world.rendley.setJob(jobId, { status: "completed", result_data: { storage_url: "https://storage.rendley.com/v2.mp4" } });
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const [first, second] = callbacksOf(world, watch.id);
    expect(first!.body.data.result.storage_url).toBe("https://storage.rendley.com/v1.mp4");
    expect(second!.body.data.result.storage_url).toBe("https://storage.rendley.com/v2.mp4");
    expect(second!.webhookId).toBe(first!.webhookId);
    expect(second!.body.timestamp).toBe(first!.body.timestamp); // still the moment the change was observed
    expect(second!.verified).toBe(true);

    world.rendley.setJob(jobId, { status: "completed", result_data: { storage_url: "https://storage.rendley.com/v3.mp4" } });
    expect((await world.api(`/v1/watches/${watch.id}/redeliver`, { method: "POST" })).status).toBe(202);
    await waitFor(() => callbacksOf(world, watch.id).length === 3);
    expect(callbacksOf(world, watch.id)[2]!.body.data.result.storage_url).toBe("https://storage.rendley.com/v3.mp4");
  });
});

describe("fairness between receivers", () => {
  let world: TestWorld;
  let stalling: Receiver;
  beforeAll(async () => {
    world = await startWorld({
      env: {
        DELIVERY_CONCURRENCY: "12",
        DELIVERY_PER_ORIGIN_CONCURRENCY: "4",
        DELIVERY_TIMEOUT_MS: "6000", // longer than a healthy callback can take, even on a busy CI machine
        DELIVERY_BREAKER_THRESHOLD: "1000", // keep the breaker out of this measurement
        POLL_CONCURRENCY: "64",
      },
    });
    stalling = await startReceiver({ secrets: [TEST_SECRET] });
    stalling.respond({ delayMs: 60_000 });
  });
  afterAll(async () => {
    await world?.close();
    await stalling?.close();
  });

  /** Registers `n` finished jobs to the healthy receiver and returns each callback's latency from registration. */
  const healthyLatencies = async (n: number) => {
    const started = new Map<string, number>();
    await Promise.all(
      Array.from({ length: n }, async () => {
        const jobId = world.rendley.addJob({ steps: ["completed"] });
        const before = Date.now();
        const watch = await world.watch({ job_id: jobId });
        started.set(watch.id, before);
      }),
    );
    await waitFor(() => [...started.keys()].every((id) => callbacksOf(world, id).length > 0), { timeoutMs: 20_000 });
    return [...started].map(([id, t]) => callbacksOf(world, id)[0]!.at - t);
  };

  it("keeps a healthy receiver's latency while a neighbour stalls every request for the whole timeout", async () => {
    const alone = await healthyLatencies(30);
    const stalled = await Promise.all(
      Array.from({ length: 30 }, () =>
        world.watch({ job_id: world.rendley.addJob({ steps: ["completed"] }), callback_url: stalling.url() }),
      ),
    );
    const stallStart = Date.now();
    await waitFor(() => stalling.received.length >= 4); // the stalling origin has its 4 slots taken
    const beside = await healthyLatencies(30);
    const timeoutRounds = Math.ceil((Date.now() - stallStart) / 6_000);
    const figures = { p99AloneMs: p99(alone), p99BesideStallingMs: p99(beside), stallingInFlight: stalling.received.length };
    console.log(`fairness: ${JSON.stringify(figures)}`);
    // never more than the per-origin cap at once: 4 per 6 s timeout round
    expect(stalling.received.length).toBeLessThanOrEqual(4 * (timeoutRounds + 1));
    // Never waits for a stalled request's 6 s timeout. (Alone vs beside is printed, not asserted: in the full
    // suite on 2 cores the two phases run under different load; quiet, beside ≈ alone ≈ 1.5–2.3 s.)
    expect(figures.p99BesideStallingMs).toBeLessThan(6_000);
    expect(stalled).toHaveLength(30);
  });
});

describe("circuit breaker per origin", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld({
      env: { DELIVERY_BREAKER_THRESHOLD: "3", DELIVERY_BREAKER_COOLDOWN_MS: "1500", DELIVERY_PER_ORIGIN_CONCURRENCY: "1" },
    });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("opens after consecutive failures, pauses without using attempts, probes once, and closes", async () => {
    let healthy = false;
    world.receiver.respond(() => (healthy ? { status: 200 } : { status: 500 }));
    const watches = [];
    for (let i = 0; i < 3; i++) {
      watches.push(
        await world.watch({
          job_id: world.rendley.addJob({ steps: ["completed"] }),
          retry_schedule: "100ms,100ms,100ms,100ms,100ms",
        }),
      );
    }
    const origin = new URL(world.receiver.url()).origin;
    const open = await waitFor(
      async () => (await world.api("/v1/origins")).body.data.find((o: any) => o.origin === origin && o.state === "open"),
      { timeoutMs: 10_000 },
    );
    expect(open).toMatchObject({ consecutive_failures: 3, open_until: expect.any(String) });
    const failuresAtOpen = world.receiver.received.length;
    healthy = true;
    // Paused: nothing is sent until the cool-down ends, then exactly one probe goes first.
    await waitFor(() => world.receiver.received.length > failuresAtOpen, { timeoutMs: 5_000 });
    const probeAt = world.receiver.received[failuresAtOpen]!.at;
    expect(probeAt - Date.parse(open.opened_at)).toBeGreaterThanOrEqual(1_400);
    for (const w of watches) await world.waitForWatch(w.id, (x) => x.status === "delivered");
    const attempts = (await Promise.all(watches.map((w) => world.api(`/v1/watches/${w.id}`)))).flatMap(
      (r) => r.body.data.deliveries[0].attempts,
    );
    expect(attempts.length).toBe(world.receiver.received.length); // the pause used up no attempts
    const closed = (await world.api("/v1/origins")).body.data.find((o: any) => o.origin === origin);
    expect(closed).toMatchObject({ state: "closed", consecutive_failures: 0 });
    expect(world.logs.some((l) => l.includes("circuit breaker opened"))).toBe(true);
  });
});
