import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../../src/lib/clock.js";
import { createUpstreamClient } from "../../../src/upstream/client.js";
import { fillPath, SERVICE_PATHS } from "../../../src/upstream/paths.js";
import { jobCost, MAX_UPSTREAM_MESSAGE, startJob, upstreamMessage } from "../../../src/upstream/start-job.js";

// Two loopback servers stand in for Rendley's two services; each answers what the test scripted for the path.
type Reply = { status?: number; body?: string; headers?: Record<string, string>; hang?: boolean };
interface Seen {
  host: "api" | "agent";
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const API_KEY = "rk_test_start_job_0123456789";
const dispatcher = new Agent({ keepAliveTimeout: 1_000 });
const servers: Server[] = [];
const hanging = new Set<ServerResponse>();
let seen: Seen[] = [];
let replies: Record<string, Reply> = {};
let apiUrl: string;
let agentUrl: string;

async function listen(host: Seen["host"]): Promise<string> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      seen.push({ host, method: req.method ?? "", path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const reply = replies[`${host} ${path}`] ?? { status: 404, body: '{"error":{"code":"NOT_FOUND","message":"no route"}}' };
      if (reply.hang) return void hanging.add(res);
      res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers });
      res.end(reply.body ?? "");
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  apiUrl = await listen("api");
  agentUrl = await listen("agent");
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await dispatcher.close();
});
beforeEach(() => {
  seen = [];
  replies = {};
});

const upstream = (timeoutMs = 300) =>
  createUpstreamClient({ baseUrl: apiUrl, agentBaseUrl: agentUrl, dispatcher, timeoutMs, clock: systemClock, userAgent: "test" });
const usable = (id: string) => /^[A-Za-z0-9_.:-]{1,128}$/.test(id);
const TRANSCRIBE = { path: fillPath(SERVICE_PATHS.api.ai, { action: "transcribe" }) };
const AGENT = { path: SERVICE_PATHS.agent.start, service: "agent" as const };
const start = (endpoint: { path: string; service?: "api" | "agent" }, body: Record<string, unknown> = { project_id: "p" }) =>
  startJob(upstream(), endpoint, body, { apiKey: API_KEY, isUsableJobId: usable });

describe("startJob", () => {
  it("reads the job id from each shape Rendley answers with", async () => {
    const uuid = "0b6f3c1e-7d2a-4c5b-9e8f-1a2b3c4d5e6f";
    const shapes: Array<[string, string]> = [
      ['{"data":{"job_id":"job_object"}}', "job_object"],
      ['{"data":"job_data_string"}', "job_data_string"],
      ['"job_bare_string"', "job_bare_string"],
      ['{"job_id":"job_top_level"}', "job_top_level"],
      [`{"data":{"job_id":"${uuid}","status":"pending"}}`, uuid],
    ];
    for (const [body, jobId] of shapes) {
      replies = { "api /v1/ai/transcribe": { status: 201, body } };
      expect(await start(TRANSCRIBE), body).toEqual({ kind: "started", jobId, statusCode: 201 });
    }
  });

  it("posts Rendley's body once, with the key, to the endpoint's path on its service's host", async () => {
    replies = { "agent /v1/agent": { body: '{"data":{"job_id":"0b6f3c1e-7d2a-4c5b-9e8f-1a2b3c4d5e6f"}}' } };
    const body = { prompt: "Trim the intro", files: [{ url: "https://x/y.mp4" }], nested: { ü: null } };
    expect(await start(AGENT, body)).toMatchObject({ kind: "started", jobId: "0b6f3c1e-7d2a-4c5b-9e8f-1a2b3c4d5e6f" });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ host: "agent", method: "POST", path: "/v1/agent" });
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(seen[0]!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(seen[0]!.body)).toEqual(body);

    replies = { "api /v1/export": { body: '{"data":{"job_id":"job_exp"}}' } };
    expect(await start({ path: SERVICE_PATHS.api.export })).toMatchObject({ kind: "started", jobId: "job_exp" });
    expect(seen.at(-1)).toMatchObject({ host: "api", path: "/v1/export" });
  });

  it("calls a 2xx without a usable job id a bad response", async () => {
    const cases: Array<[string, RegExp]> = [
      ['{"data":{}}', /no job_id/],
      ['{"data":{"job_id":""}}', /no job_id/],
      ['{"data":12}', /no job_id/],
      ['""', /no job_id/],
      ["job_plain_text", /no job_id/], // not JSON: never taken for an id
      ["[]", /no job_id/],
      ["null", /no job_id/],
      ['{"data":{"job_id":"../../etc"}}', /cannot watch/],
      ['"has space"', /cannot watch/],
    ];
    for (const [body, message] of cases) {
      replies = { "api /v1/ai/transcribe": { body } };
      const result = await start(TRANSCRIBE);
      expect(result, body).toMatchObject({ kind: "failed", reason: "bad_response", statusCode: 200 });
      expect(result.kind === "failed" && result.message, body).toMatch(message);
    }
  });

  it("passes Rendley's refusal on: status, message (key redacted) and Retry-After", async () => {
    replies = {
      "agent /v1/agent": {
        status: 429,
        headers: { "retry-after": "10" },
        body: '{"error":{"code":"QUEUE_FULL","message":"The agent queue is full; retry later."}}',
      },
      "api /v1/ai/transcribe": { status: 402, body: `{"error":{"message":"Too few credits for ${API_KEY}"}}` },
    };
    expect(await start(AGENT)).toEqual({
      kind: "failed",
      reason: "status",
      statusCode: 429,
      message: "The agent queue is full; retry later.",
      retryAfter: "10",
    });
    expect(await start(TRANSCRIBE)).toEqual({
      kind: "failed",
      reason: "status",
      statusCode: 402,
      message: "Too few credits for [redacted]",
    });
    replies = { "api /v1/ai/transcribe": { status: 503, headers: { "retry-after": "x".repeat(80) }, body: "<html>down</html>" } };
    expect(await start(TRANSCRIBE)).toEqual({
      kind: "failed",
      reason: "status",
      statusCode: 503,
      message: "Rendley answered 503",
    });
  });

  it("tells no answer in time from no connection", async () => {
    replies = { "api /v1/ai/transcribe": { hang: true } };
    expect(await start(TRANSCRIBE)).toMatchObject({ kind: "failed", reason: "timeout", message: /did not answer in time/ });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = createUpstreamClient({
      baseUrl: `http://127.0.0.1:${port}`,
      dispatcher,
      timeoutMs: 300,
      clock: systemClock,
      userAgent: "test",
    });
    expect(await startJob(unreachable, TRANSCRIBE, {}, { apiKey: API_KEY, isUsableJobId: usable })).toMatchObject({
      kind: "failed",
      reason: "network",
      message: /unreachable/,
    });
  });
});

describe("jobCost", () => {
  const cost = (action: string) =>
    jobCost(upstream(), { path: fillPath(SERVICE_PATHS.api.aiCost, { action }) }, { project_id: "p" }, { apiKey: API_KEY });

  it("returns a 2xx JSON answer as received, whatever its shape", async () => {
    replies = {
      "api /v1/ai/transcribe/cost": { body: "12" },
      "api /v1/ai/lipsync/cost": { status: 201, body: '{"credits":40}' },
      "api /v1/ai/generate-video/cost": { body: '{"data":{"credits":90}}' },
    };
    expect(await cost("transcribe")).toEqual({ kind: "answer", statusCode: 200, body: 12 });
    expect(await cost("lipsync")).toEqual({ kind: "answer", statusCode: 201, body: { credits: 40 } });
    expect(await cost("generate-video")).toEqual({ kind: "answer", statusCode: 200, body: { data: { credits: 90 } } });
    expect(seen.map((s) => s.path)).toEqual(["/v1/ai/transcribe/cost", "/v1/ai/lipsync/cost", "/v1/ai/generate-video/cost"]);
  });

  it("calls a body that is not JSON a bad response, and passes refusals on", async () => {
    replies = {
      "api /v1/ai/transcribe/cost": { body: "twelve" },
      "api /v1/ai/lipsync/cost": { status: 400, body: '{"error":{"code":"BAD_REQUEST","message":"model_id is unknown"}}' },
    };
    expect(await cost("transcribe")).toMatchObject({ kind: "failed", reason: "bad_response", message: /not JSON/ });
    expect(await cost("lipsync")).toEqual({ kind: "failed", reason: "status", statusCode: 400, message: "model_id is unknown" });
  });
});

describe("upstreamMessage", () => {
  it.each([
    ['{"error":{"code":"X","message":"m1"}}', "m1"],
    ['{"error":{"code":"QUEUE_FULL"}}', "QUEUE_FULL"],
    ['{"error":"m2"}', "m2"],
    ['{"message":"m3"}', "m3"],
    ['{"detail":"m4"}', "m4"],
    ["plain\ttext\n\u0000here", "plain text here"],
    ["<html>oops</html>", undefined],
    ["{}", undefined],
    ['{"error":{"message":"   "}}', undefined],
  ])("%j → %j", (text, message) => {
    expect(upstreamMessage(text)).toBe(message);
  });

  it("redacts the key and cuts long messages", () => {
    const message = upstreamMessage(`key ${API_KEY} ${"x".repeat(1000)}`, API_KEY)!;
    expect(message.startsWith("key [redacted] x")).toBe(true);
    expect(message).toHaveLength(MAX_UPSTREAM_MESSAGE);
    expect(message.endsWith("…")).toBe(true);
  });
});
