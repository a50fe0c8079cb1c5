import { Hono } from "hono";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createErrorHandler } from "../../../src/api/errors.js";
import { requestId } from "../../../src/api/request-id.js";
import { createLogger } from "../../../src/lib/logger.js";

/** An app behind the middleware, logging into memory, with ids "gen-1", "gen-2", … for requests that bring none usable. */
function harness() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      cb();
    },
  });
  const root = createLogger({ level: "debug", destination });
  const logger = root.child({ component: "api" });
  let n = 0;
  const app = new Hono<{ Variables: { requestId: string } }>();
  app.use(requestId(logger, { generate: () => `gen-${++n}` }));
  app.onError(createErrorHandler(logger));
  app.get("/things", (c) => {
    root.child({ component: "scheduler" }).info({ requestId: c.get("requestId") }, "inside the handler");
    return c.json({ id: c.get("requestId") });
  });
  app.get("/boom", () => {
    throw new Error("kaput");
  });
  return { app, lines };
}

describe("requestId middleware", () => {
  it("keeps a sane incoming x-request-id: echoed, on the context, on the request line", async () => {
    const { app, lines } = harness();
    for (const id of ["abc-123", "A.b_c-9", "x".repeat(64), "0"]) {
      const res = await app.request("/things", { headers: { "x-request-id": id } });
      expect(res.headers.get("x-request-id")).toBe(id);
      expect(await res.json()).toEqual({ id });
      expect(lines.at(-1)).toMatchObject({ msg: "request", requestId: id, component: "api" });
    }
  });

  it.each([
    ["too long", "x".repeat(65)],
    ["a space", "abc def"],
    ["markup", "<script>alert(1)</script>"],
    ["a log-injection newline", "abc\\ndef"],
    ["a quote", 'a"b'],
    ["a slash", "a/b"],
    ["non-ASCII", "idé"],
    ["empty", ""],
  ])("replaces a hostile id (%s) with a generated one", async (_label, hostile) => {
    const { app, lines } = harness();
    const res = await app.request("/things", { headers: { "x-request-id": hostile } });
    expect(res.headers.get("x-request-id")).toBe("gen-1");
    expect(lines.at(-1)).toMatchObject({ requestId: "gen-1" });
    if (hostile.length > 1) expect(JSON.stringify(lines)).not.toContain(hostile);
  });

  it("generates an id when none is sent, a new one per request (UUID by default)", async () => {
    const { app } = harness();
    const ids = await Promise.all([1, 2, 3].map(async () => (await app.request("/things")).headers.get("x-request-id")));
    expect(new Set(ids).size).toBe(3);
    const lines: string[] = [];
    const bare = new Hono();
    bare.use(
      requestId(createLogger({ destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(String(c)), cb()) }) })),
    );
    bare.get("/", (c) => c.text("ok"));
    const res = await bare.request("/");
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("logs one line per request: method, path without the query string, status, duration", async () => {
    const { app, lines } = harness();
    await app.request("/things?token=s3cr3t-value&x=1", { headers: { "x-request-id": "req-1" } });
    await app.request("/nowhere?api_key=s3cr3t-value", { method: "POST" });
    const requests = lines.filter((l) => l.msg === "request");
    expect(requests).toEqual([
      expect.objectContaining({ requestId: "req-1", method: "GET", path: "/things", status: 200, ms: expect.any(Number) }),
      expect.objectContaining({ requestId: "gen-1", method: "POST", path: "/nowhere", status: 404 }),
    ]);
    expect(JSON.stringify(lines)).not.toContain("s3cr3t");
  });

  it("gives handlers the id to log with, and puts it on the error handler's lines", async () => {
    const { app, lines } = harness();
    await app.request("/things", { headers: { "x-request-id": "req-7" } });
    expect(lines.find((l) => l.msg === "inside the handler")).toMatchObject({ requestId: "req-7", component: "scheduler" });

    const res = await app.request("/boom", { headers: { "x-request-id": "req-8" } });
    expect(res.status).toBe(500);
    expect(res.headers.get("x-request-id")).toBe("req-8");
    expect(lines.find((l) => l.msg === "unhandled error")).toMatchObject({ requestId: "req-8", component: "api" });
    expect(lines.at(-1)).toMatchObject({ msg: "request", requestId: "req-8", status: 500 });
    // Lines logged outside any request carry no id; every line has exactly one component.
    createLogger({ destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }) }).info(
      "idle",
    );
    expect(lines.at(-1)).toMatchObject({ msg: "idle", component: "relay" });
    expect(lines.at(-1)).not.toHaveProperty("requestId");
  });
});
