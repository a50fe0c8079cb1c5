import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../src/lib/clock.js";
import { createUpstreamClient } from "../../../src/upstream/client.js";

// A loopback server answers by path: a job, a stall past the deadline, or a refusal of the key.
let server: Server;
let baseUrl: string;
const dispatcher = new Agent({ keepAliveTimeout: 1_000 });

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith("/v1/jobs/job_stall")) return; // never answers
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
});
