import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  CallbackVerificationError,
  nodeCallbackHandler,
  type NodeCallbackRequest,
  type RelayEvent,
} from "../../../src/receiver/index.js";
import { newSecret, nowSec, signedCallback } from "./signed-callback.js";

const SECRET = newSecret();
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
}

const post = (url: string, body: string, headers: Record<string, string>) => fetch(url, { method: "POST", body, headers });

describe("nodeCallbackHandler", () => {
  it("reads the body from the stream of a plain http server and calls back with the event", async () => {
    const seen: Array<{ event: RelayEvent; id: unknown }> = [];
    const url = await listen(
      nodeCallbackHandler({ secret: SECRET }, (event, req, res) => {
        seen.push({ event, id: req.headers["webhook-id"] });
        res.writeHead(200, { "content-type": "text/plain" }).end("thanks");
      }),
    );
    const { body, headers } = signedCallback([SECRET], { id: "msg_node_1" });
    const res = await post(url, body, headers);
    expect([res.status, await res.text()]).toEqual([200, "thanks"]);
    expect(seen).toEqual([{ event: JSON.parse(body), id: "msg_node_1" }]);
  });

  it("answers 204 when the callback returns without answering, and waits for an async callback", async () => {
    let done = false;
    const url = await listen(
      nodeCallbackHandler({ secret: SECRET }, async () => {
        await new Promise((resolve) => setImmediate(resolve));
        done = true;
      }),
    );
    const { body, headers } = signedCallback([SECRET]);
    expect((await post(url, body, headers)).status).toBe(204);
    expect(done).toBe(true);
  });

  it.each([
    ["a Buffer (express.raw())", (body: string) => Buffer.from(body)],
    ["a string (express.text())", (body: string) => body],
  ])("uses a body an Express-style parser already read: %s", async (_name, parsed) => {
    const seen: RelayEvent[] = [];
    const handler = nodeCallbackHandler({ secret: SECRET }, (event) => void seen.push(event));
    const url = await listen((req, res) => {
      // What express.raw()/express.text() do: consume the stream, put the bytes on req.body, then call the route.
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        (req as NodeCallbackRequest).body = parsed(Buffer.concat(chunks).toString("utf8"));
        void handler(req, res);
      });
    });
    const { body, headers } = signedCallback([SECRET]);
    expect((await post(url, body, headers)).status).toBe(204);
    expect(seen).toEqual([JSON.parse(body)]);
  });

  it("after express.json() (the bytes are gone) answers 500 body_already_parsed with the fix", async () => {
    const handler = nodeCallbackHandler({ secret: SECRET }, () => {});
    const url = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        (req as NodeCallbackRequest).body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        void handler(req, res);
      });
    });
    const { body, headers } = signedCallback([SECRET]);
    const res = await post(url, body, headers);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({
      error: { code: "body_already_parsed", message: expect.stringContaining("express.raw") },
    });
  });

  it.each([
    [
      "a tampered body",
      () => {
        const s = signedCallback([SECRET]);
        return { ...s, body: s.body.replace("ord_42", "ord_0") };
      },
      401,
      "bad_signature",
    ],
    ["an old timestamp", () => signedCallback([SECRET], { timestampSec: nowSec() - 900 }), 401, "timestamp_too_old"],
    [
      "no signature header",
      () => {
        const { "webhook-signature": _gone, ...headers } = signedCallback([SECRET]).headers;
        return { body: "{}", headers };
      },
      400,
      "missing_headers",
    ],
  ])("answers %s with %i %s without calling back", async (_name, make, status, code) => {
    const seen: RelayEvent[] = [];
    const url = await listen(nodeCallbackHandler({ secret: SECRET }, (event) => void seen.push(event)));
    const { body, headers } = make();
    const res = await post(url, body, headers);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message: expect.any(String) } });
    expect(seen).toEqual([]);
  });

  it("verifies a rotation header with the old secret", async () => {
    const newer = newSecret();
    const url = await listen(nodeCallbackHandler({ secret: [SECRET] }, () => {}));
    const { body, headers } = signedCallback([newer, SECRET]);
    expect((await post(url, body, headers)).status).toBe(204);
  });

  it("answers 413 past maxBodyBytes, streamed without a content-length too", async () => {
    const url = await listen(nodeCallbackHandler({ secret: SECRET, maxBodyBytes: 64 }, () => {}));
    const { body, headers } = signedCallback([SECRET]);
    expect((await post(url, body, headers)).status).toBe(413);
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body));
        controller.close();
      },
    });
    const res = await fetch(url, { method: "POST", body: stream, headers, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "body_too_large" } });
  });

  it("hands a throwing callback to Express's next(err), or answers 500 without it", async () => {
    const boom = new Error("boom");
    const errors: unknown[] = [];
    const handler = nodeCallbackHandler({ secret: SECRET }, () => {
      throw boom;
    });
    const withNext = await listen((req, res) =>
      handler(req, res, (err) => {
        errors.push(err);
        res.writeHead(502).end();
      }),
    );
    const { body, headers } = signedCallback([SECRET]);
    expect((await post(withNext, body, headers)).status).toBe(502);
    expect(errors).toEqual([boom]);
    const bare = await listen(handler);
    expect((await post(bare, body, headers)).status).toBe(500);
  });

  it("refuses a malformed secret when the handler is built", () => {
    expect(() => nodeCallbackHandler({ secret: "whsec_c2hvcnQ=" }, () => {})).toThrow(CallbackVerificationError);
  });
});
