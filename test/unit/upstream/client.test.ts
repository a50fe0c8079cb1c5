import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../src/lib/clock.js";
import { createUpstreamClient } from "../../../src/upstream/client.js";

/** Job lists by request URL: a good one (with an entry that is not a job), one too big, garbage, one without data. */
const LISTS: Record<string, string> = {
  "/v1/jobs?source_type=studio": JSON.stringify({ data: [{ id: "job_a", status: "queued" }, { status: "no id" }, "x"] }),
  "/v1/jobs?source_type=studio&project_id=big": JSON.stringify({ data: [{ id: "job_b", status: "x".repeat(5_000) }] }),
  "/v1/jobs?source_type=studio&project_id=garbage": "<html>",
  "/v1/jobs?source_type=studio&project_id=nodata": JSON.stringify({ jobs: [] }),
};

// A loopback server answers by path: a job, a stall past the deadline, or a refusal of the key.
let server: Server;
let baseUrl: string;
const dispatcher = new Agent({ keepAliveTimeout: 1_000 });

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith("/v1/jobs/job_stall")) return; // never answers
    const list = LISTS[req.url ?? ""];
    if (list !== undefined) {
      res.end(list);
      return;
    }
    if (req.url === "/v1/jobs/agent_1" || req.url === "/agent/v1/jobs/agent_1") {
      res.end(JSON.stringify({ data: { id: "agent_1", status: req.url.startsWith("/agent") ? "running" : "wrong host" } }));
      return;
    }
    if (req.method === "POST" && req.url === "/cancel/agent_1") {
      res.end("{}");
      return;
    }
    if (req.url === "/v1/jobs/job_ok") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ data: { id: "job_ok", status: "processing" } }));
      return;
    }
    res.statusCode = 401;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await dispatcher.close();
});

const client = (url = baseUrl, timeoutMs = 200) =>
  createUpstreamClient({ baseUrl: url, dispatcher, timeoutMs, clock: systemClock, userAgent: "test" });

describe("the upstream client", () => {
  it("answers a job as ok", async () => {
    expect(await client().getJob("job_ok", { apiKey: "k" })).toMatchObject({ kind: "ok", job: { id: "job_ok" } });
  });

  it("calls a request without an answer by its deadline a timeout, for a poll and for a POST", async () => {
    expect(await client().getJob("job_stall", { apiKey: "k" })).toEqual({
      kind: "error",
      reason: "timeout",
      message: "no answer within 200 ms",
    });
    expect(await client().post("/v1/jobs/job_stall", "{}", { apiKey: "k" })).toEqual({
      kind: "error",
      reason: "timeout",
      message: "no answer within 200 ms",
    });
  });

  it("calls a refused connection, and a request its caller aborted, a network error, not a timeout", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await client(`http://127.0.0.1:${port}`).getJob("job_ok", { apiKey: "k" })).toMatchObject({
      kind: "error",
      reason: "network",
      message: "ECONNREFUSED",
    });

    const caller = new AbortController();
    const pending = client(baseUrl, 5_000).getJob("job_stall", { apiKey: "k", signal: caller.signal });
    caller.abort();
    expect(await pending).toMatchObject({ kind: "error", reason: "network" });
  });

  it("tells a rejected key from an unreachable upstream when probing", async () => {
    expect(await client().probeKey({ apiKey: "wrong" })).toBe("rejected");
    expect(await client("http://127.0.0.1:9").probeKey({ apiKey: "k" })).toBe("unknown");
  });

  it("reads the job list up to a byte limit: entries without an id are skipped, a longer list is too_large, garbage is bad_response", async () => {
    const list = (query: Record<string, string>, maxBytes = 4_096) => client().listJobs(query, { apiKey: "k", maxBytes });
    expect(await list({ source_type: "studio" })).toEqual({ kind: "ok", jobs: [{ id: "job_a", status: "queued" }] });
    expect(await list({ source_type: "studio", project_id: "big" })).toEqual({ kind: "too_large", maxBytes: 4_096 });
    expect(await list({ source_type: "studio", project_id: "garbage" })).toMatchObject({ kind: "error", reason: "bad_response" });
    expect(await list({ source_type: "studio", project_id: "nodata" })).toMatchObject({ kind: "error", reason: "bad_response" });
    expect(await list({ source_type: "api" })).toMatchObject({ kind: "error", reason: "status", statusCode: 401 });
  });

  it("polls an agent job at the agent service and cancels it only where a cancel URL is configured", async () => {
    const agent = (cancelUrl?: string) =>
      createUpstreamClient({
        baseUrl,
        agentBaseUrl: `${baseUrl}/agent`,
        agentCancelUrl: cancelUrl,
        dispatcher,
        timeoutMs: 500,
        clock: systemClock,
        userAgent: "test",
      });
    expect(await agent().getJob("agent_1", { apiKey: "k", service: "agent" })).toEqual({
      kind: "ok",
      job: { id: "agent_1", status: "running" },
    });
    expect(await agent().cancelJob("agent_1", { apiKey: "k", service: "agent" })).toEqual({ kind: "unsupported" });
    expect(await agent(`${baseUrl}/cancel/{id}`).cancelJob("agent_1", { apiKey: "k", service: "agent" })).toEqual({
      kind: "canceled",
    });
  });
});
