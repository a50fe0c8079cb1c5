import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BlockedAddressError } from "../../../src/security/guarded-agent.js";
import { ATTEMPT_ERRORS, type AttemptError } from "../../../src/domain/attempt.js";
import { MAX_RESPONSE_BYTES, RESPONSE_EXCERPT_BYTES, classifyNetworkError, sendCallback } from "../../../src/delivery/send.js";
import { waitFor } from "../../support/wait-for.js";

const coded = (code: string, message = code): Error => Object.assign(new Error(message), { code });
const named = (name: string): Error => Object.assign(new Error(name), { name });

describe("ATTEMPT_ERRORS", () => {
  it('is the fixed list (no more "network")', () => {
    expect(ATTEMPT_ERRORS).toEqual([
      "timeout",
      "connection_refused",
      "connection_reset",
      "dns",
      "tls",
      "blocked",
      "redirect",
      "too_large",
      "status",
    ]);
  });

  it("limits: 20 KiB read, 1 KiB kept", () => {
    expect(MAX_RESPONSE_BYTES).toBe(20 * 1024);
    expect(RESPONSE_EXCERPT_BYTES).toBe(1024);
  });
});

describe("classifyNetworkError", () => {
  it.each<[string, unknown, AttemptError]>([
    ["ECONNREFUSED", coded("ECONNREFUSED"), "connection_refused"],
    ["EHOSTUNREACH", coded("EHOSTUNREACH"), "connection_refused"],
    ["ENETUNREACH", coded("ENETUNREACH"), "connection_refused"],
    ["EADDRNOTAVAIL", coded("EADDRNOTAVAIL"), "connection_refused"],
    ["ECONNRESET", coded("ECONNRESET"), "connection_reset"],
    ["EPIPE", coded("EPIPE"), "connection_reset"],
    ["UND_ERR_SOCKET", coded("UND_ERR_SOCKET"), "connection_reset"],
    ["UND_ERR_CLOSED", coded("UND_ERR_CLOSED"), "connection_reset"],
    ["ENOTFOUND", coded("ENOTFOUND"), "dns"],
    ["EAI_AGAIN", coded("EAI_AGAIN"), "dns"],
    ["ENODATA", coded("ENODATA"), "dns"],
    ["EAI_NONAME", coded("EAI_NONAME"), "dns"],
    ["UND_ERR_HEADERS_OVERFLOW", coded("UND_ERR_HEADERS_OVERFLOW"), "too_large"],
    ["UND_ERR_RES_EXCEEDED_MAX_SIZE", coded("UND_ERR_RES_EXCEEDED_MAX_SIZE"), "too_large"],
    ["UND_ERR_HEADERS_OVERFLOW in .cause", new TypeError("x", { cause: coded("UND_ERR_HEADERS_OVERFLOW") }), "too_large"],
    ["EHOSTUNREACH in .cause", new TypeError("fetch failed", { cause: coded("EHOSTUNREACH") }), "connection_refused"],
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
    // anything unrecognised happened on an open socket: connection_reset
    ["unknown code", coded("EWHATEVER"), "connection_reset"],
    ["unknown undici code", coded("UND_ERR_SOMETHING_NEW"), "connection_reset"],
    ["no code", new Error("boom"), "connection_reset"],
    ["AbortError by name", named("AbortError"), "connection_reset"],
    ["a string", "boom", "connection_reset"],
    ["a number", 42, "connection_reset"],
    ["null", null, "connection_reset"],
    ["undefined", undefined, "connection_reset"],
    [
      "too deep (6 levels)",
      [1, 2, 3, 4, 5].reduce<Error>((cause) => new Error("wrap", { cause }), coded("ECONNREFUSED")),
      "connection_reset",
    ],
    [
      "5 levels deep",
      [1, 2, 3, 4].reduce<Error>((cause) => new Error("wrap", { cause }), coded("ECONNREFUSED")),
      "connection_refused",
    ],
  ])("%s → %s", (_label, err, expected) => {
    expect(classifyNetworkError(err)).toBe(expected);
    expect(ATTEMPT_ERRORS).toContain(classifyNetworkError(err));
  });

  it("does not loop on a cyclic cause chain", () => {
    const a = new Error("a") as Error & { cause?: unknown };
    a.cause = a;
    expect(classifyNetworkError(a)).toBe("connection_reset");
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

  /** Answers every request with this status, headers and body. */
  const answer = (statusCode: number, headers: Record<string, string | string[]> = {}, body?: string | Buffer) => {
    handler = (_req, res) => {
      res.writeHead(statusCode, headers);
      res.end(body);
    };
  };

  describe("status codes", () => {
    it("200 → ok with the body as excerpt, after POSTing the body and headers as given", async () => {
      const result = await send("/hook?x=1");
      expect(result).toStrictEqual({
        ok: true,
        statusCode: 200,
        durationMs: expect.any(Number),
        error: null,
        responseExcerpt: "ok",
      });
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({
        method: "POST",
        url: "/hook?x=1",
        body: '{"type":"job.completed"}',
        headers: { "content-type": "application/json", "webhook-id": "msg_1" },
      });
    });

    it.each([201, 204, 299])("%i without a body → ok, no excerpt", async (code) => {
      answer(code);
      expect(await send("/hook")).toStrictEqual({ ok: true, statusCode: code, durationMs: expect.any(Number), error: null });
    });

    it("a 2xx with a JSON body is still ok, with the body as excerpt", async () => {
      answer(202, { "content-type": "application/json" }, '{"received":true,"id":"evt_1"}');
      expect(await send("/hook")).toStrictEqual({
        ok: true,
        statusCode: 202,
        durationMs: expect.any(Number),
        error: null,
        responseExcerpt: '{"received":true,"id":"evt_1"}',
      });
    });

    it("a 2xx ignores Retry-After, Location and webhook-delivery", async () => {
      answer(201, { "retry-after": "7", location: "/created/1", "webhook-delivery": "abort-message" }, "created");
      const result = await send("/hook");
      expect(result).toMatchObject({ ok: true, statusCode: 201, error: null, responseExcerpt: "created" });
      expect(result.retryAfterMs).toBeUndefined();
      expect(result.location).toBeUndefined();
    });

    it("500 with retry-after: 7 → status error with retryAfterMs 7000 and the excerpt", async () => {
      answer(500, { "retry-after": "7" }, "oops");
      expect(await send("/hook")).toStrictEqual({
        ok: false,
        statusCode: 500,
        durationMs: expect.any(Number),
        error: "status",
        retryAfterMs: 7_000,
        responseExcerpt: "oops",
      });
    });

    it.each([429, 503])("%i with retry-after: 120 → retryAfterMs 120000", async (code) => {
      answer(code, { "retry-after": "120" });
      expect(await send("/hook")).toStrictEqual({
        ok: false,
        statusCode: code,
        durationMs: expect.any(Number),
        error: "status",
        retryAfterMs: 120_000,
      });
    });

    it("404 without retry-after or body → status error, no retryAfterMs, no excerpt", async () => {
      answer(404);
      expect(await send("/hook")).toStrictEqual({ ok: false, statusCode: 404, durationMs: expect.any(Number), error: "status" });
    });
  });

  describe("redirects", () => {
    it.each([301, 302, 303, 307, 308])("%i → redirect error with the location recorded, never followed", async (code) => {
      handler = (req, res) => {
        if (req.url === "/hook") {
          res.writeHead(code, { location: "/elsewhere" });
          res.end();
        } else {
          res.end("followed!");
        }
      };
      expect(await send("/hook")).toStrictEqual({
        ok: false,
        statusCode: code,
        durationMs: expect.any(Number),
        error: "redirect",
        location: "/elsewhere",
      });
      expect(requests.map((r) => r.url)).toEqual(["/hook"]);
    });

    it("an absolute location and a body are both kept", async () => {
      answer(301, { location: "https://new.example/hooks/v2" }, "Moved Permanently");
      expect(await send("/hook")).toStrictEqual({
        ok: false,
        statusCode: 301,
        durationMs: expect.any(Number),
        error: "redirect",
        location: "https://new.example/hooks/v2",
        responseExcerpt: "Moved Permanently",
      });
    });

    it("a 302 without a location → redirect, no location key", async () => {
      answer(302);
      expect(await send("/hook")).toStrictEqual({
        ok: false,
        statusCode: 302,
        durationMs: expect.any(Number),
        error: "redirect",
      });
    });

    it("a location longer than 2048 characters is cut", async () => {
      const long = `/${"p".repeat(3_000)}`;
      answer(307, { location: long });
      const result = await send("/hook");
      expect(result.location).toBe(long.slice(0, 2048));
    });

    it("a Location header on a 4xx/5xx is not recorded", async () => {
      answer(500, { location: "/elsewhere" });
      const result = await send("/hook");
      expect(result).toMatchObject({ ok: false, statusCode: 500, error: "status" });
      expect("location" in result).toBe(false);
    });
  });

  describe("webhook-delivery: abort-message", () => {
    // [header value(s), abortMessage]
    it.each<[string, string | string[], boolean]>([
      ["abort-message", "abort-message", true],
      ["Abort-Message", "Abort-Message", true],
      ["ABORT-MESSAGE", "ABORT-MESSAGE", true],
      ["x, abort-message", "x, abort-message", true],
      ["abort-message, x", "abort-message, x", true],
      ["x,abort-message,y", "x,abort-message,y", true],
      ["two header lines", ["x", "abort-message"], true],
      ["abort-messages", "abort-messages", false],
      ["no-abort-message", "no-abort-message", false],
      ["abort", "abort", false],
      ["x; abort-message", "x; abort-message", false],
      ["empty", "", false],
    ])("%s → abortMessage %s", async (_label, value, expected) => {
      answer(400, { "webhook-delivery": value }, "stop");
      const result = await send("/hook");
      expect(result).toMatchObject({ ok: false, statusCode: 400, error: "status", responseExcerpt: "stop" });
      if (expected) expect(result.abortMessage).toBe(true);
      else expect("abortMessage" in result).toBe(false);
    });

    it("the header name is case-insensitive", async () => {
      answer(500, { "Webhook-Delivery": "abort-message" });
      expect(await send("/hook")).toMatchObject({ ok: false, statusCode: 500, abortMessage: true });
    });

    it("absent → no abortMessage key", async () => {
      answer(500);
      expect("abortMessage" in (await send("/hook"))).toBe(false);
    });

    it("on a 410 and on a 3xx too", async () => {
      answer(410, { "webhook-delivery": "abort-message" });
      expect(await send("/hook")).toMatchObject({ statusCode: 410, error: "status", abortMessage: true });
      answer(302, { "webhook-delivery": "abort-message", location: "/x" });
      expect(await send("/hook")).toMatchObject({ statusCode: 302, error: "redirect", location: "/x", abortMessage: true });
    });
  });

  describe("response excerpt", () => {
    // [label, body, excerpt]
    it.each<[string, string, string]>([
      ["a short body", "hello", "hello"],
      ["exactly 1024 bytes", "a".repeat(1024), "a".repeat(1024)],
      ["1025 bytes", "a".repeat(1025), "a".repeat(1024)],
      ["5000 bytes", "x".repeat(5000), "x".repeat(1024)],
      ["a 2-byte character across the cut", `${"a".repeat(1023)}é${"b".repeat(100)}`, "a".repeat(1023)],
      ["a 3-byte character across the cut", `${"a".repeat(1022)}€${"b".repeat(100)}`, "a".repeat(1022)],
      ["a 4-byte character across the cut", `${"a".repeat(1022)}😀${"b".repeat(100)}`, "a".repeat(1022)],
      ["a 4-byte character ending at the cut", `${"a".repeat(1020)}😀${"b".repeat(100)}`, `${"a".repeat(1020)}😀`],
      ["a 3-byte character ending at the cut", `${"a".repeat(1021)}€b`, `${"a".repeat(1021)}€`],
      ["2-byte characters only (even cut)", "é".repeat(600), "é".repeat(512)],
      ["3-byte characters only", "€".repeat(400), "€".repeat(341)],
      ["4-byte characters only", "😀".repeat(300), "😀".repeat(256)],
    ])("%s", async (_label, body, expected) => {
      answer(500, { "content-type": "text/plain; charset=utf-8" }, body);
      const result = await send("/hook");
      expect(result.responseExcerpt).toBe(expected);
      expect(Buffer.byteLength(result.responseExcerpt!)).toBeLessThanOrEqual(1024);
      expect(body.startsWith(result.responseExcerpt!)).toBe(true);
      expect(result.responseExcerpt).not.toContain("\uFFFD");
    });

    it("a multi-byte character split across network chunks is decoded whole", async () => {
      const e = Buffer.from("é");
      handler = (_req, res) => {
        res.writeHead(500);
        res.write(Buffer.concat([Buffer.from("abc"), e.subarray(0, 1)]));
        setTimeout(() => res.end(Buffer.concat([e.subarray(1), Buffer.from("def")])), 20);
      };
      expect((await send("/hook")).responseExcerpt).toBe("abcédef");
    });

    it.each([200, 500])("a 1 MB body (%i) is cut: the call resolves with a 1 KiB excerpt", async (code) => {
      answer(code, { "content-length": String(1024 * 1024) }, Buffer.alloc(1024 * 1024, "a"));
      const result = await send("/hook");
      expect(result).toMatchObject({ ok: code === 200, statusCode: code, responseExcerpt: "a".repeat(1024) });
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
      expect(result).toMatchObject({ ok: true, statusCode: 200, error: null, responseExcerpt: "a".repeat(1024) });
      expect(Date.now() - started).toBeLessThan(2_500);
      await waitFor(() => closed, { timeoutMs: 2_000, message: "the relay should drop the connection" });
    });

    it("a chunked body that never ends is still cut after 20 KiB (no timeout)", async () => {
      handler = (_req, res) => {
        res.writeHead(500);
        res.write(Buffer.alloc(MAX_RESPONSE_BYTES + 1, "z")); // then hold the response open
      };
      const started = Date.now();
      const result = await send("/hook", { timeoutMs: 3_000 });
      expect(result).toMatchObject({ ok: false, statusCode: 500, error: "status", responseExcerpt: "z".repeat(1024) });
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it("a body of U+FFFD characters keeps them — only a character split by the cut may go", async () => {
      // excerpt() strips every trailing U+FFFD after the cut, not just the split character: a body of (or ending in)
      // replacement characters — e.g. a binary body decoded as UTF-8 — loses whole characters; here the excerpt is "".
      answer(500, {}, "\uFFFD".repeat(500)); // 1500 bytes: 341 whole characters fit in 1024 bytes
      expect((await send("/hook")).responseExcerpt).toBe("\uFFFD".repeat(341));
    });
  });

  describe("network failures", () => {
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

    it("the socket closed without an answer → connection_reset", async () => {
      handler = (req) => req.socket.destroy();
      expect(await send("/hook")).toStrictEqual({
        ok: false,
        statusCode: null,
        durationMs: expect.any(Number),
        error: "connection_reset",
      });
    });

    it("response headers over the size limit → too_large", async () => {
      answer(200, { "x-big": "a".repeat(64 * 1024) }, "ok");
      expect(await send("/hook")).toMatchObject({ ok: false, statusCode: null, error: "too_large" });
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

  describe("external abort", () => {
    it("mid-request → aborted: true (not a timeout), quickly", async () => {
      handler = () => {}; // hold the request
      const controller = new AbortController();
      const pending = send("/hook", { timeoutMs: 5_000, signal: controller.signal });
      await waitFor(() => requests.length === 1, { message: "the request should reach the server" });
      controller.abort();
      const started = Date.now();
      const result = await pending;
      expect(result).toMatchObject({ ok: false, statusCode: null, aborted: true });
      expect(result.error).not.toBe("timeout");
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it("while the body is being read → aborted: true", async () => {
      handler = (_req, res) => {
        res.writeHead(500, { "content-length": "100" });
        res.write("partial"); // then stall
      };
      const controller = new AbortController();
      const pending = send("/hook", { timeoutMs: 5_000, signal: controller.signal });
      await waitFor(() => requests.length === 1, { message: "the request should reach the server" });
      setTimeout(() => controller.abort(), 50);
      expect(await pending).toMatchObject({ ok: false, statusCode: null, aborted: true });
    });

    it("a signal aborted before the call → aborted: true, nothing sent", async () => {
      const result = await send("/hook", { signal: AbortSignal.abort() });
      expect(result).toMatchObject({ ok: false, statusCode: null, aborted: true });
      expect(requests).toHaveLength(0);
    });

    it("a signal that is not aborted changes nothing", async () => {
      const result = await send("/hook", { signal: new AbortController().signal });
      expect(result).toStrictEqual({
        ok: true,
        statusCode: 200,
        durationMs: expect.any(Number),
        error: null,
        responseExcerpt: "ok",
      });
    });
  });
});
