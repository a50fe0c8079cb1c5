import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { createErrorHandler } from "../../../src/api/errors.js";
import { metricsRoutes } from "../../../src/api/routes/metrics.js";
import type { Config } from "../../../src/config.js";
import type { DeliveryOutcome } from "../../../src/domain/delivery.js";
import type { SendResult } from "../../../src/domain/attempt.js";
import { createLogger } from "../../../src/lib/logger.js";
import type { MetricsSnapshot } from "../../../src/db/queries/load-metrics-snapshot.js";
import { attemptOutcome, finalOutcome, pollOutcome } from "../../../src/metrics/outcomes.js";
import { createRelayMetrics, type RelayMetrics } from "../../../src/metrics/relay-metrics.js";
import type { PollUpdate } from "../../../src/domain/poll.js";
import type { JobFetchResult } from "../../../src/upstream/client.js";

/** prom-client's own reading of one metric: `labels → value` (histograms: their `_count`). */
async function read(metrics: RelayMetrics, name: string): Promise<Map<string, number>> {
  const metric = metrics.registry.getSingleMetric(`rendley_relay_${name}`);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const out = new Map<string, number>();
  for (const v of values) {
    const metricName = (v as { metricName?: string }).metricName;
    if (metricName && !metricName.endsWith("_count")) continue;
    out.set(JSON.stringify(v.labels), v.value);
  }
  return out;
}
const at = (map: Map<string, number>, labels: Record<string, string> = {}) => map.get(JSON.stringify(labels)) ?? 0;

const T0 = Date.UTC(2026, 0, 1, 12);
const ok: SendResult = { ok: true, statusCode: 204, durationMs: 40, error: null };
const ack = (kind: DeliveryOutcome["kind"], lastError: string | null = null): DeliveryOutcome => ({
  id: "msg_1",
  tenantId: "ten_1",
  claimSeq: 1,
  kind,
  nextAttemptAt: null,
  lastError,
  attempt: null,
});
const body = (type: string, seenAt: number) => JSON.stringify({ type, timestamp: new Date(seenAt).toISOString(), data: {} });
const changedAck = { event: { type: "job.completed" } } as PollUpdate;
const quiet = () => createRelayMetrics({ processMetrics: false });

describe("outcome labels", () => {
  it.each<[string, JobFetchResult, PollUpdate | undefined, string]>([
    ["same status", { kind: "ok", job: { id: "j", status: "processing" } }, undefined, "unchanged"],
    ["recovered, same status", { kind: "ok", job: { id: "j", status: "processing" } }, {} as PollUpdate, "unchanged"],
    ["new status", { kind: "ok", job: { id: "j", status: "completed" } }, changedAck, "changed"],
    [
      "unknown status",
      { kind: "ok", job: { id: "j", status: "archived" } },
      { unknownStatus: "archived" } as PollUpdate,
      "unknown_status",
    ],
    ["404", { kind: "not_found" }, {} as PollUpdate, "not_found"],
    ["429", { kind: "rate_limited", retryAfterMs: 1000 }, {} as PollUpdate, "rate_limited"],
    ["401", { kind: "unauthorized", statusCode: 401 }, {} as PollUpdate, "unauthorized"],
    ["timeout", { kind: "error", reason: "timeout", message: "t" }, {} as PollUpdate, "error"],
  ])("poll: %s → %s", (_label, result, pollAck, expected) => {
    expect(pollOutcome(result, pollAck)).toBe(expected);
  });

  it.each<[Partial<SendResult>, string]>([
    [{ ok: true, statusCode: 200, error: null }, "acknowledged"],
    [{ ok: false, statusCode: 404, error: "status" }, "http_4xx"],
    [{ ok: false, statusCode: 503, error: "status" }, "http_5xx"],
    [{ ok: false, statusCode: 302, error: "redirect" }, "redirect"],
    [{ ok: false, statusCode: null, error: "timeout" }, "timeout"],
    [{ ok: false, statusCode: null, error: "connection_refused" }, "connection_refused"],
    [{ ok: false, statusCode: null, error: "blocked" }, "blocked"],
  ])("attempt %j → %s", (result, expected) => {
    expect(attemptOutcome({ durationMs: 1, ...result } as SendResult)).toBe(expected);
  });

  it.each<[DeliveryOutcome, string | undefined]>([
    [ack("delivered"), "delivered"],
    [ack("retry", "status 500"), undefined],
    [ack("release"), undefined],
    [ack("failed", "gone: the receiver answered 410"), "gone"],
    [ack("failed", "blocked: the callback address is not allowed"), "blocked"],
    [ack("failed", "exhausted: 4 attempts, last timeout"), "exhausted"],
    [ack("failed", "something new"), "failed"],
  ])("final outcome of %j is %s", (a, expected) => {
    expect(finalOutcome(a)).toBe(expected);
  });
});

describe("createRelayMetrics recorders", () => {
  it("counts polls by outcome and times upstream requests and claim lag", async () => {
    const m = quiet();
    m.pollFinished({ kind: "ok", job: { id: "j", status: "processing" } }, undefined);
    m.pollFinished({ kind: "ok", job: { id: "j", status: "completed" } }, changedAck);
    m.pollFinished({ kind: "not_found" }, {} as PollUpdate);
    m.upstreamRequest("get_job", "ok", 120);
    m.pollsClaimed([{ dueAt: new Date(T0 - 1500) }, { dueAt: new Date(T0 + 10) }, {}], new Date(T0));
    const polls = await read(m, "polls_total");
    expect([at(polls, { outcome: "unchanged" }), at(polls, { outcome: "changed" }), at(polls, { outcome: "not_found" })]).toEqual(
      [1, 1, 1],
    );
    expect(at(await read(m, "upstream_request_duration_seconds"), { operation: "get_job", outcome: "ok" })).toBe(1);
    expect(at(await read(m, "poll_scheduling_lag_seconds"))).toBe(2); // the poll without dueAt is not observed
    expect(await m.scrape()).toContain("rendley_relay_poll_scheduling_lag_seconds_sum 1.5\n"); // early claims count as 0
  });

  it("counts attempts and final outcomes, and notify latency of first-series terminal events only", async () => {
    const m = quiet();
    const now = new Date(T0 + 2_500);
    const scheduled = {
      event: "job.completed",
      trigger: "scheduled" as const,
      body: body("job.completed", T0),
      attempt: 2,
      seriesAttempt: 2,
    };
    m.deliveryAttempted(
      scheduled,
      { ok: false, statusCode: 500, durationMs: 30, error: "status" },
      ack("retry", "status 500"),
      now,
    );
    m.deliveryAttempted(scheduled, ok, ack("delivered"), now);
    m.deliveryAttempted({ ...scheduled, trigger: "manual" }, ok, ack("delivered"), now); // a redelivery
    m.deliveryAttempted({ ...scheduled, attempt: 4, seriesAttempt: 2 }, ok, ack("delivered"), now); // a redelivery's retry
    m.deliveryAttempted({ ...scheduled, event: "job.processing", body: body("job.processing", T0) }, ok, ack("delivered"), now);
    m.deliveryAttempted(scheduled, { ...ok, aborted: true }, ack("release"), now); // stopping: nothing happened
    m.deliveryAttempted(
      scheduled,
      { ok: false, statusCode: null, durationMs: 2000, error: "timeout" },
      ack("failed", "exhausted: 3"),
      now,
    );

    const attempts = await read(m, "delivery_attempts_total");
    expect(Object.fromEntries([...attempts].map(([k, v]) => [JSON.parse(k).outcome, v]))).toEqual({
      http_5xx: 1,
      acknowledged: 4,
      timeout: 1,
    });
    const deliveries = await read(m, "deliveries_total");
    expect([at(deliveries, { outcome: "delivered" }), at(deliveries, { outcome: "exhausted" })]).toEqual([4, 1]);
    const durations = await read(m, "delivery_attempt_duration_seconds");
    expect([at(durations, { acknowledged: "true" }), at(durations, { acknowledged: "false" })]).toEqual([4, 2]);
    expect(at(await read(m, "notify_latency_seconds"))).toBe(1);
    expect(await m.scrape()).toContain("rendley_relay_notify_latency_seconds_sum 2.5\n");
  });

  it("reads breaker states at scrape time, listing origins only while not closed", async () => {
    const m = quiet();
    let states = [
      { origin: "https://a.example", state: "open" as const },
      { origin: "https://a.example", state: "open" as const },
      { origin: "https://b.example", state: "closed" as const },
      { origin: "https://c.example", state: "half_open" as const },
    ];
    m.observeBreakers(() => states);
    const totals = await read(m, "circuit_breakers");
    expect([at(totals, { state: "closed" }), at(totals, { state: "open" }), at(totals, { state: "half_open" })]).toEqual([
      1, 2, 1,
    ]);
    const origins = await read(m, "circuit_breaker_origins");
    expect(at(origins, { origin: "https://a.example", state: "open" })).toBe(2);
    expect(at(origins, { origin: "https://c.example", state: "half_open" })).toBe(1);
    expect(origins.size).toBe(2);
    states = [{ origin: "https://a.example", state: "closed" }];
    expect((await read(m, "circuit_breaker_origins")).size).toBe(0); // a closed origin leaves the series
  });

  it("keeps each relay's metrics on its own registry", async () => {
    const a = quiet();
    const b = createRelayMetrics(); // with process metrics: registering them twice in a process is fine
    const c = createRelayMetrics();
    a.pollFinished({ kind: "not_found" }, undefined);
    expect(at(await read(a, "polls_total"), { outcome: "not_found" })).toBe(1);
    expect(at(await read(b, "polls_total"), { outcome: "not_found" })).toBe(0);
    expect(await c.scrape()).toContain("process_cpu_user_seconds_total");
    expect(await a.scrape()).not.toContain("process_cpu_user_seconds_total");
  });
});

describe("database gauges", () => {
  const snapshot = (watching: number): MetricsSnapshot => ({
    watchesByStatus: { watching, delivered: 2 },
    duePolls: 7,
    oldestDueAgeMs: 1_250,
  });

  it("come from one snapshot per cache period, shared by every gauge", async () => {
    let nowMs = 0;
    let loads = 0;
    const m = createRelayMetrics({ processMetrics: false, nowMs: () => nowMs, loadSnapshot: async () => snapshot(++loads) });
    const first = await m.scrape();
    expect(loads).toBe(1);
    expect(first).toContain('rendley_relay_watches{status="watching"} 1\n');
    expect(first).toContain('rendley_relay_watches{status="expired"} 0\n'); // every status, even empty
    expect(first).toContain("rendley_relay_polls_due 7\n");
    expect(first).toContain("rendley_relay_oldest_due_poll_age_seconds 1.25\n");
    nowMs = 4_999;
    await Promise.all([m.scrape(), m.scrape(), m.scrape()]);
    expect(loads).toBe(1);
    nowMs = 5_000;
    expect(await m.scrape()).toContain('rendley_relay_watches{status="watching"} 2\n');
    expect(loads).toBe(2);
  });

  it("serve the previous values when the database fails or hangs, without failing the scrape", async () => {
    let nowMs = 0;
    let mode: "ok" | "fail" | "hang" = "ok";
    const m = createRelayMetrics({
      processMetrics: false,
      nowMs: () => nowMs,
      snapshotTimeoutMs: 50,
      loadSnapshot: () =>
        mode === "ok"
          ? Promise.resolve(snapshot(3))
          : mode === "fail"
            ? Promise.reject(new Error("down"))
            : new Promise(() => {}),
    });
    await m.scrape();
    for (const next of ["fail", "hang"] as const) {
      mode = next;
      nowMs += 10_000;
      expect(await m.scrape()).toContain('rendley_relay_watches{status="watching"} 3\n');
    }
  });
});

describe("GET /metrics route", () => {
  const appWith = (metricsToken: string | undefined) => {
    const metrics = quiet();
    metrics.pollFinished({ kind: "not_found" }, undefined);
    const app = new Hono();
    app.onError(createErrorHandler(createLogger({ level: "silent" })));
    app.route("/", metricsRoutes({ config: { metricsToken } as Config, metrics }));
    return app;
  };

  it("is open without RELAY_METRICS_TOKEN", async () => {
    const res = await appWith(undefined).request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('rendley_relay_polls_total{outcome="not_found"} 1');
  });

  it.each([
    ["no header", undefined],
    ["a wrong token", "Bearer metrics-token-wrong-0000"],
    ["the token without Bearer", "metrics-token-0123456789"],
    ["a prefix of the token", "Bearer metrics-token-012345678"],
  ])("answers 401 with the envelope for %s", async (_label, authorization) => {
    const res = await appWith("metrics-token-0123456789").request(
      "/metrics",
      authorization ? { headers: { authorization } } : {},
    );
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
  });

  it("answers 200 with the token", async () => {
    const res = await appWith("metrics-token-0123456789").request("/metrics", {
      headers: { authorization: "bearer metrics-token-0123456789" },
    });
    expect(res.status).toBe(200);
  });
});
