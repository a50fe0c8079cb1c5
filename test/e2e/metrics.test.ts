import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type TestWorld } from "../support/relay-harness.js";
import { DRIVERS } from "../support/test-db.js";
import { waitFor } from "../support/wait-for.js";

const METRICS_TOKEN = "metrics-token-0123456789";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A small parser of the Prometheus text exposition format (0.0.4): samples, and `# TYPE` per family. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type) types.set(type[1]!, type[2]!);
      continue;
    }
    const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (!head) throw new Error(`not a sample line: ${line}`);
    const name = head[1]!;
    let i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === "{") {
      i++;
      while (line[i] !== "}") {
        const key = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
        if (!key) throw new Error(`bad label at ${i} in: ${line}`);
        i += key[0].length;
        let value = "";
        while (line[i] !== '"') {
          if (i >= line.length) throw new Error(`unterminated label value in: ${line}`);
          if (line[i] === "\\") {
            const next = line[++i];
            value += next === "n" ? "\n" : next;
          } else value += line[i];
          i++;
        }
        labels[key[1]!] = value;
        i++; // closing quote
        if (line[i] === ",") i++;
      }
      i++; // closing brace
    }
    const [rawValue] = line.slice(i).trim().split(/\s+/);
    const value = rawValue === "+Inf" ? Infinity : rawValue === "-Inf" ? -Infinity : Number(rawValue);
    // Prometheus reads NaN in any case (Go's ParseFloat); prom-client writes `Nan` for an empty event-loop histogram.
    if (Number.isNaN(value) && !/^nan$/i.test(rawValue ?? "")) throw new Error(`bad value in: ${line}`);
    samples.push({ name, labels, value });
  }
  return { samples, types };
}

/** The value of the one sample with this name and (at least) these labels; 0 when absent (a counter not yet moved). */
const valueOf = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

describe.each(DRIVERS)("GET /metrics (Prometheus, %s)", (driver) => {
  let world: TestWorld;
  const scrape = async (token: string | null = METRICS_TOKEN) => {
    const res = await fetch(`${world.relay.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  beforeAll(async () => {
    world = await startWorld({ driver, env: { RELAY_METRICS_TOKEN: METRICS_TOKEN } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("refuses a scrape without the token, or with a wrong one, with the error envelope", async () => {
    for (const token of [null, "metrics-token-0123456780", "x"]) {
      const res = await scrape(token);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.text)).toEqual({
        error: { code: "unauthorized", message: expect.stringContaining("RELAY_METRICS_TOKEN") },
      });
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
      expect(res.text).not.toContain("rendley_relay_");
    }
    // The API key is not the metrics token.
    const withApiKey = await world.api("/metrics");
    expect(withApiKey.status).toBe(401);
  });

  it("counts a completed job's polls, delivery, attempt and notify latency, and reports watches by status", async () => {
    const before = parseExposition((await scrape()).text).samples;
    const doneJob = world.rendley.addJob({ steps: ["queued", "processing", "completed"] });
    const runningJob = world.rendley.addJob({ steps: ["queued", "processing"] });
    const done = await world.watch({ job_id: doneJob });
    const running = await world.watch({ job_id: runningJob });
    await world.waitForWatch(done.id, (w) => w.status === "delivered");
    // The still-running job has been seen processing (a changed poll), so its watch is settled as "watching".
    await waitFor(() => world.rendley.polls(runningJob) >= 2);

    // The database gauges are cached up to 5 s: wait for a snapshot taken after the delivery.
    const after = await waitFor(
      async () => {
        const res = await scrape();
        expect(res.status).toBe(200);
        const parsed = parseExposition(res.text);
        return valueOf(parsed.samples, "rendley_relay_watches", { status: "delivered" }) >= 1 ? { res, ...parsed } : undefined;
      },
      { timeoutMs: 12_000, intervalMs: 250 },
    );
    const { samples, types, res } = after;
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const moved = (name: string, labels: Record<string, string> = {}) =>
      valueOf(samples, name, labels) - valueOf(before, name, labels);

    // Polls: the finished job was seen change (processing, completed); the running one too.
    expect(moved("rendley_relay_polls_total", { outcome: "changed" })).toBeGreaterThanOrEqual(3);
    expect(moved("rendley_relay_polls_total")).toBeGreaterThanOrEqual(4);
    expect(
      moved("rendley_relay_upstream_request_duration_seconds_count", { operation: "get_job", outcome: "ok" }),
    ).toBeGreaterThanOrEqual(4);
    expect(moved("rendley_relay_poll_scheduling_lag_seconds_count")).toBeGreaterThanOrEqual(4);

    // The database side of both loops: every poll above came from a claim, and changed polls were written back.
    // The delivery was created leased to this process by the write that saw the job complete: no delivery claim.
    expect(moved("rendley_relay_claim_batch_size_sum", { loop: "scheduler" })).toBeGreaterThanOrEqual(4);
    expect(moved("rendley_relay_claim_duration_seconds_count", { loop: "scheduler" })).toBeGreaterThanOrEqual(1);
    expect(moved("rendley_relay_write_batch_size_sum", { loop: "scheduler" })).toBeGreaterThanOrEqual(3);
    expect(moved("rendley_relay_claim_batch_size_sum", { loop: "delivery" })).toBe(0);
    expect(moved("rendley_relay_write_batch_size_sum", { loop: "delivery" })).toBe(1);
    expect(moved("rendley_relay_write_duration_seconds_count", { loop: "delivery" })).toBe(1);

    // One delivery, acknowledged at the first attempt.
    expect(moved("rendley_relay_deliveries_total", { outcome: "delivered" })).toBe(1);
    expect(moved("rendley_relay_delivery_attempts_total", { outcome: "acknowledged" })).toBe(1);
    expect(moved("rendley_relay_delivery_attempt_duration_seconds_count", { acknowledged: "true" })).toBe(1);
    expect(moved("rendley_relay_notify_latency_seconds_count")).toBe(1);
    const latencyS = moved("rendley_relay_notify_latency_seconds_sum");
    expect(latencyS).toBeGreaterThanOrEqual(0);
    expect(latencyS).toBeLessThan(10);
    // Buckets are cumulative: the +Inf bucket holds every observation.
    expect(valueOf(samples, "rendley_relay_notify_latency_seconds_bucket", { le: "+Inf" })).toBe(
      valueOf(samples, "rendley_relay_notify_latency_seconds_count"),
    );

    // Watches by status match the API's own listing, every status present.
    for (const status of ["watching", "delivering", "delivered", "failed", "canceled", "expired"]) {
      const listed = await world.api(`/v1/watches?status=${status}&limit=200`);
      expect(valueOf(samples, "rendley_relay_watches", { status }), status).toBe(listed.body.data.length);
      expect(samples.some((s) => s.name === "rendley_relay_watches" && s.labels.status === status)).toBe(true);
    }
    expect(valueOf(samples, "rendley_relay_watches", { status: "watching" })).toBeGreaterThanOrEqual(1);
    expect(running.status).toBe("watching");

    // Backlog and breakers are reported; the receiver's origin has a closed breaker after a success.
    expect(samples.find((s) => s.name === "rendley_relay_polls_due")?.value).toBeGreaterThanOrEqual(0);
    expect(samples.find((s) => s.name === "rendley_relay_oldest_due_poll_age_seconds")?.value).toBeGreaterThanOrEqual(0);
    expect(valueOf(samples, "rendley_relay_circuit_breakers", { state: "closed" })).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, "rendley_relay_circuit_breakers", { state: "open" })).toBe(0);

    expect(types.get("rendley_relay_polls_total")).toBe("counter");
    expect(types.get("rendley_relay_notify_latency_seconds")).toBe("histogram");
    expect(types.get("rendley_relay_watches")).toBe("gauge");
    // prom-client's process metrics, on this relay's own registry.
    expect(types.get("process_cpu_user_seconds_total")).toBe("counter");
    expect(types.get("nodejs_eventloop_lag_seconds")).toBe("gauge");
  });

  it("puts a component on every log line and a request id on every API request line", () => {
    const lines = world.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => typeof l.component !== "string")).toEqual([]);
    const requests = lines.filter((l) => l.msg === "request");
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) {
      expect(r).toMatchObject({
        component: "api",
        requestId: expect.any(String),
        method: expect.any(String),
        status: expect.any(Number),
      });
      expect(String(r.path)).not.toContain("?");
    }
    // The token never reaches the logs.
    expect(world.logs.join("\n")).not.toContain(METRICS_TOKEN);
  });
});
