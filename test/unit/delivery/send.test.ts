import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BlockedAddressError } from "../../../src/delivery/guarded-agent.js";
import { classifyNetworkError, sendCallback, type AttemptError } from "../../../src/delivery/send.js";
import { waitFor } from "../../support/wait-for.js";

const coded = (code: string, message = code): Error => Object.assign(new Error(message), { code });
const named = (name: string): Error => Object.assign(new Error(name), { name });

describe("classifyNetworkError", () => {
  it.each<[string, unknown, AttemptError]>([
    ["ECONNREFUSED", coded("ECONNREFUSED"), "connection_refused"],
    ["ECONNRESET", coded("ECONNRESET"), "connection_reset"],
    ["EPIPE", coded("EPIPE"), "connection_reset"],
    ["UND_ERR_SOCKET", coded("UND_ERR_SOCKET"), "connection_reset"],
    ["ENOTFOUND", coded("ENOTFOUND"), "dns"],
    ["EAI_AGAIN", coded("EAI_AGAIN"), "dns"],
    ["UND_ERR_HEADERS_TIMEOUT", coded("UND_ERR_HEADERS_TIMEOUT"), "timeout"],
    ["UND_ERR_BODY_TIMEOUT", coded("UND_ERR_BODY_TIMEOUT"), "timeout"],
    ["UND_ERR_CONNECT_TIMEOUT", coded("UND_ERR_CONNECT_TIMEOUT"), "timeout"],
    ["ETIMEDOUT", coded("ETIMEDOUT"), "timeout"],
    ["TimeoutError by name", named("TimeoutError"), "timeout"],
    ["DOMException TimeoutError", new DOMException("timed out", "TimeoutError"), "timeout"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", coded("ERR_TLS_CERT_ALTNAME_INVALID"), "tls"],
    ["ERR_SSL_WRONG_VERSION_NUMBER", coded("ERR_SSL_WRONG_VERSION_NUMBER"), "tls"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", coded("DEPTH_ZERO_SELF_SIGNED_CERT"), "tls"],
    ["SELF_SIGNED_CERT_IN_CHAIN", coded("SELF_SIGNED_CERT_IN_CHAIN"), "tls"],
    ["CERT_HAS_EXPIRED", coded("CERT_HAS_EXPIRED"), "tls"],
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", coded("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), "tls"],
    ["ECONNREFUSED in .cause", new TypeError("fetch failed", { cause: coded("ECONNREFUSED") }), "connection_refused"],
    ["ENOTFOUND two causes deep", new Error("a", { cause: new Error("b", { cause: coded("ENOTFOUND") }) }), "dns"],
    ["TLS in .cause", new Error("x", { cause: coded("ERR_TLS_CERT_ALTNAME_INVALID") }), "tls"],
    ["TimeoutError in .cause", new Error("x", { cause: named("TimeoutError") }), "timeout"],
    ["outer code wins over cause", Object.assign(coded("ECONNRESET"), { cause: coded("ENOTFOUND") }), "connection_reset"],
    ["BlockedAddressError", new BlockedAddressError("10.0.0.1", "10.0.0.1"), "blocked"],
    [
      "BlockedAddressError in .cause",
      new TypeError("fetch failed", { cause: new BlockedAddressError("127.0.0.1", "localhost") }),
      "blocked",
    ],
    ["unknown code", coded("EWHATEVER"), "network"],
    ["no code", new Error("boom"), "network"],
    ["a string", "boom", "network"],
    ["null", null, "network"],
    ["undefined", undefined, "network"],
    [
      "too deep (6 levels)",
      [1, 2, 3, 4, 5].reduce<Error>((cause) => new Error("wrap", { cause }), coded("ECONNREFUSED")),
      "network",
    ],
    [
      "5 levels deep",
      [1, 2, 3, 4].reduce<Error>((cause) => new Error("wrap", { cause }), coded("ECONNREFUSED")),
      "connection_refused",
    ],
  ])("%s → %s", (_label, err, expected) => {
    expect(classifyNetworkError(err)).toBe(expected);
  });

  it("does not loop on a cyclic cause chain", () => {
    const a = new Error("a") as Error & { cause?: unknown };
    a.cause = a;
    expect(classifyNetworkError(a)).toBe("network");
  });
});

describe("sendCallback", () => {
  type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
  let server: Server;
  let baseUrl: string;
  let handler: Handler;
  let requests: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
  let agent: Agent;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
        handler(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    requests = [];
    handler = (_req, res) => res.end("ok");
    agent = new Agent();
  });

  afterEach(async () => {
    server.closeAllConnections();
    await agent.close();
  });

  const send = (path: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
    sendCallback(
      {
        url: `${baseUrl}${path}`,
        body: '{"type":"job.completed"}',
        headers: { "content-type": "application/json", "webhook-id": "msg_1" },
      },
      {
        dispatcher: agent,
        timeoutMs: options.timeoutMs ?? 5_000,
        now: () => new Date(),
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );

  it("200 → ok, after POSTing the body and headers as given", async () => {
    const result = await send("/hook?x=1");
    expect(result).toStrictEqual({ ok: true, statusCode: 200, durationMs: expect.any(Number), error: null });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      method: "POST",
      url: "/hook?x=1",
      body: '{"type":"job.completed"}',
      headers: { "content-type": "application/json", "webhook-id": "msg_1" },
    });
  });

  it.each([201, 204, 299])("%i → ok", async (code) => {
    handler = (_req, res) => {
      res.statusCode = code;
      res.end();
    };
    expect(await send("/hook")).toMatchObject({ ok: true, statusCode: code, error: null });
  });

  it("500 with retry-after: 7 → status error with retryAfterMs 7000", async () => {
    handler = (_req, res) => {
      res.writeHead(500, { "retry-after": "7" });
      res.end("oops");
    };
    expect(await send("/hook")).toStrictEqual({
      ok: false,
      statusCode: 500,
      durationMs: expect.any(Number),
      error: "status",
      retryAfterMs: 7_000,
    });
  });

  it("404 without retry-after → status error, no retryAfterMs", async () => {
    handler = (_req, res) => {
      res.statusCode = 404;
      res.end();
    };
    expect(await send("/hook")).toStrictEqual({ ok: false, statusCode: 404, durationMs: expect.any(Number), error: "status" });
  });

  it("302 → redirect error with the location recorded, never followed", async () => {
    handler = (req, res) => {
      if (req.url === "/hook") {
        res.writeHead(302, { location: "/elsewhere" });
        res.end();
      } else {
        res.end("followed!");
      }
    };
    expect(await send("/hook")).toStrictEqual({
      ok: false,
      statusCode: 302,
      durationMs: expect.any(Number),
      error: "redirect",
      location: "/elsewhere",
    });
    expect(requests.map((r) => r.url)).toEqual(["/hook"]);
  });

  it("a 2xx with a 1 MiB body resolves", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-length": String(1024 * 1024) });
      res.end(Buffer.alloc(1024 * 1024, "a"));
    };
    expect(await send("/hook")).toMatchObject({ ok: true, statusCode: 200, error: null });
  });

  it("cuts a 1 MiB body off after a capped prefix instead of reading it all", async () => {
    // The body announces 1 MiB but only 64 KiB ever arrive: a relay reading to the end would hang until its deadline.
    let closed = false;
    handler = (_req, res) => {
      res.writeHead(200, { "content-length": String(1024 * 1024) });
      res.write(Buffer.alloc(64 * 1024, "a"));
      res.on("close", () => {
        closed = true;
      });
    };
    const started = Date.now();
    const result = await send("/hook", { timeoutMs: 5_000 });
    expect(result).toMatchObject({ ok: true, statusCode: 200, error: null });
    expect(Date.now() - started).toBeLessThan(2_500);
    await waitFor(() => closed, { timeoutMs: 2_000, message: "the relay should drop the connection" });
  });

  it("a server that never answers → timeout, close to timeoutMs", async () => {
    handler = () => {}; // hold the request
    const started = Date.now();
    const result = await send("/hook", { timeoutMs: 300 });
    const elapsed = Date.now() - started;
    expect(result).toStrictEqual({ ok: false, statusCode: null, durationMs: expect.any(Number), error: "timeout" });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(800);
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
  });

  it("the deadline covers the body too: headers sent then a stall → timeout", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
    };
    const started = Date.now();
    const result = await send("/hook", { timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, statusCode: null, error: "timeout" });
    expect(Date.now() - started).toBeLessThan(800);
  });

  it("an external abort mid-request → aborted: true (not a timeout)", async () => {
    handler = () => {}; // hold the request
    const controller = new AbortController();
    const pending = send("/hook", { timeoutMs: 5_000, signal: controller.signal });
    await waitFor(() => requests.length === 1, { message: "the request should reach the server" });
    controller.abort();
    const started = Date.now();
    const result = await pending;
    expect(result).toStrictEqual({
      ok: false,
      statusCode: null,
      durationMs: expect.any(Number),
      error: "network",
      aborted: true,
    });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("connection refused → connection_refused", async () => {
    const closedServer = createServer();
    await new Promise<void>((resolve) => closedServer.listen(0, "127.0.0.1", resolve));
    const port = (closedServer.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closedServer.close(() => resolve()));
    const result = await sendCallback(
      { url: `http://127.0.0.1:${port}/hook`, body: "{}", headers: {} },
      { dispatcher: agent, timeoutMs: 2_000, now: () => new Date() },
    );
    expect(result).toMatchObject({ ok: false, statusCode: null, error: "connection_refused" });
    expect(result.aborted).toBeUndefined();
  });
});
