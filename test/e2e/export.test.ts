import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/lib/logger.js";
import { startRelay, type Relay } from "../../src/relay.js";
import type { ScriptedResponse } from "../support/fake-rendley.js";
import { startReceiver } from "../support/receiver.js";
import { relayTestEnv, startWorld, TEST_API_KEY, type TestWorld } from "../support/relay-harness.js";
import { waitFor } from "../support/wait-for.js";

const ADMIN_KEY = "admin_key_0123456789abcdefghij";
const ENCRYPTION_KEY = Buffer.alloc(32, 5).toString("base64");
const RENDLEY_BODY = {
  project_id: "prj_123",
  settings: { target_resolution: "1080p", codec: "h264" },
  // Fields the relay knows nothing about go to Rendley exactly as sent.
  future_option: { nested: [1, { a: null, b: "ü" }], flag: true },
};

describe("POST /v1/export and /v1/export/cost", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld({
      env: { RELAY_ADMIN_KEY: ADMIN_KEY, RELAY_ENCRYPTION_KEY: ENCRYPTION_KEY, UPSTREAM_TIMEOUT_MS: "1000" },
    });
  });
  afterAll(async () => {
    await world?.close();
  });

  const exportCalls = () => world.rendley.calls("POST", "/v1/export").length;
  const stored = async () => {
    const [row] = await world.relay.deps.db.rows<{ watches: number; polls: number }>(
      sql`select (select count(*)::int from watches) as watches, (select count(*)::int from polls) as polls`,
    );
    return row!;
  };
  const startExport = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    world.api("/v1/export", { method: "POST", json: body, headers });

  it("starts the export with the tenant's Rendley key, watches its job and delivers the callback", async () => {
    const before = exportCalls();
    const res = await startExport({
      ...RENDLEY_BODY,
      callback_url: world.receiver.url("/export"),
      events: ["job.processing", "job.completed"],
      metadata: { order_id: "ord_1" },
    });
    expect(res.status).toBe(201);
    const { job_id: jobId, watch } = res.body.data;
    expect(jobId).toMatch(/^job_/);
    expect(watch).toMatchObject({ job_id: jobId, metadata: { order_id: "ord_1" }, events: ["job.processing", "job.completed"] });

    expect(exportCalls()).toBe(before + 1);
    const call = world.rendley.calls("POST", "/v1/export").at(-1)!;
    expect(call.headers.authorization).toBe(`Bearer ${world.rendley.apiKey}`);
    expect(call.headers["user-agent"]).toMatch(/^rendley-relay\//);
    expect(call.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(call.body)).toEqual(RENDLEY_BODY); // the relay's own fields stripped, the rest untouched
    expect(world.rendley.job(jobId)).toMatchObject({ source_id: "prj_123" });

    const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    expect(done.job_status).toBe("completed");
    const callbacks = world.receiver.received.filter((r) => r.body?.data?.job_id === jobId);
    expect(callbacks.map((r) => r.body.type)).toEqual(["job.processing", "job.completed"]);
    expect(callbacks.every((r) => r.verified && r.path === "/export")).toBe(true);
    expect(callbacks[1]!.body.data).toMatchObject({ watch_id: watch.id, metadata: { order_id: "ord_1" } });
    expect(callbacks[1]!.body.data.result.storage_url).toContain(jobId);
  });

  it("stores nothing when Rendley refuses, fails, stalls or answers without a job id", async () => {
    const longMessage = `Not enough credits \u0000\n\tfor key ${world.rendley.apiKey} ${"x".repeat(2000)}`;
    const cases: Array<[string, ScriptedResponse, number, string, RegExp?]> = [
      [
        "402",
        { status: 402, json: { error: { code: "payment_required", message: "Too few credits." } } },
        402,
        "upstream_error",
        /Too few credits/,
      ],
      [
        "400",
        { status: 400, json: { error: { code: "bad_request", message: "project_id is required" } } },
        400,
        "upstream_error",
        /project_id is required/,
      ],
      ["403", { status: 403, json: { message: "Plan limit reached" } }, 403, "upstream_error", /Plan limit reached/],
      ["404 plain text", { status: 404, body: "no such project" }, 404, "upstream_error", /no such project/],
      ["500", { status: 500 }, 502, "upstream_error", /Rendley failed \(500\)/],
      [
        "503 html",
        { status: 503, body: "<html>down</html>" },
        502,
        "upstream_error",
        /Rendley failed \(503\): Rendley answered 503/,
      ],
      ["2xx without job_id", { status: 200, json: { data: {} } }, 502, "upstream_error", /no job_id/],
      ["2xx not JSON", { status: 200, body: "ok" }, 502, "upstream_error", /no job_id/],
      ["2xx unusable job id", { status: 200, json: { data: { job_id: "../../etc" } } }, 502, "upstream_error", /cannot watch/],
      ["timeout", { status: 200, json: { data: { job_id: "job_late" } }, delayMs: 2_500 }, 504, "upstream_timeout", /in time/],
      ["hostile message", { status: 422, json: { error: { message: longMessage } } }, 422, "upstream_error"],
    ];
    for (const [name, response, status, code, message] of cases) {
      const before = { ...(await stored()), calls: exportCalls() };
      world.rendley.enqueueExport(response);
      const res = await startExport({ ...RENDLEY_BODY, callback_url: world.receiver.url() });
      expect([name, res.status, res.body.error?.code]).toEqual([name, status, code]);
      if (message) expect(res.body.error.message, name).toMatch(message);
      expect({ ...(await stored()), calls: exportCalls() }, name).toEqual({ ...before, calls: before.calls + 1 });
    }
    // A hostile answer: Rendley's message handed on, but bounded, single-line and without the key.
    world.rendley.enqueueExport({ status: 422, json: { error: { message: longMessage } } });
    const res = await startExport({ ...RENDLEY_BODY, callback_url: world.receiver.url() });
    expect(res.body.error.message).toMatch(/^Rendley refused the request \(422\): Not enough credits for key \[redacted\] x+…$/);
    expect(res.body.error.message.length).toBeLessThan(400);
    expect(JSON.stringify(res.body)).not.toContain(world.rendley.apiKey);
    expect(world.logs.join("\n")).not.toContain(world.rendley.apiKey);
  });

  it("passes Rendley's 429 on with its Retry-After", async () => {
    world.rendley.enqueueExport({ status: 429, headers: { "retry-after": "7" } });
    const res = await startExport({ ...RENDLEY_BODY, callback_url: world.receiver.url() });
    expect(res.status).toBe(429);
    expect(res.body.error.code).toBe("upstream_error");
    expect(res.headers.get("retry-after")).toBe("7");
  });

  it("refuses a bad callback URL or bad watch fields before anything goes upstream", async () => {
    const before = { ...(await stored()), calls: exportCalls() };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...RENDLEY_BODY }, "validation_failed"], // no callback_url
      [{ ...RENDLEY_BODY, callback_url: "ftp://127.0.0.1/x" }, "callback_url_invalid"],
      [{ ...RENDLEY_BODY, callback_url: "http://10.1.2.3/hook" }, "callback_url_forbidden"],
      [{ ...RENDLEY_BODY, callback_url: "http://169.254.169.254/latest" }, "callback_url_forbidden"],
      [{ ...RENDLEY_BODY, callback_url: world.receiver.url(), events: ["job.exploded"] }, "validation_failed"],
      [{ ...RENDLEY_BODY, callback_url: world.receiver.url(), metadata: "not an object" }, "validation_failed"],
      [{ ...RENDLEY_BODY, callback_url: world.receiver.url(), retry_schedule: "soon" }, "validation_failed"],
      [{ ...RENDLEY_BODY, callback_url: world.receiver.url(), callback_headers: { "webhook-id": "x" } }, "validation_failed"],
    ];
    for (const [body, code] of cases) {
      const res = await startExport(body);
      expect([res.status, res.body.error?.code]).toEqual([400, code]);
    }
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    const tooDeep = await startExport({ ...RENDLEY_BODY, callback_url: world.receiver.url(), deep });
    expect([tooDeep.status, tooDeep.body.error?.code]).toEqual([400, "validation_failed"]);
    const noKey = await startExport(
      { ...RENDLEY_BODY, callback_url: world.receiver.url() },
      { authorization: "Bearer nope_nope_nope_nope" },
    );
    expect(noKey.status).toBe(401);
    const badIdem = await startExport(
      { ...RENDLEY_BODY, callback_url: world.receiver.url() },
      { "idempotency-key": "has space" },
    );
    expect(badIdem.status).toBe(400);
    expect({ ...(await stored()), calls: exportCalls() }).toEqual(before);
  });

  it("honours Idempotency-Key: a retry answers with the first job and watch and starts nothing", async () => {
    const body = { ...RENDLEY_BODY, project_id: "prj_idem", callback_url: world.receiver.url() };
    const before = exportCalls();
    const first = await startExport(body, { "idempotency-key": "exp-1" });
    expect(first.status).toBe(201);
    const again = await startExport(body, { "idempotency-key": "exp-1" });
    expect(again.status).toBe(200);
    expect(again.body.data.job_id).toBe(first.body.data.job_id);
    expect(again.body.data.watch.id).toBe(first.body.data.watch.id);
    const other = await startExport({ ...body, project_id: "prj_other" }, { "idempotency-key": "exp-1" });
    expect([other.status, other.body.error.code]).toEqual([409, "idempotency_conflict"]);
    expect(exportCalls()).toBe(before + 1);

    // Two at once while Rendley is slow: one export, the other request is told to retry.
    world.rendley.enqueueExport({ status: 200, json: { data: { job_id: "job_slow_idem" } }, delayMs: 300 });
    const [a, b] = await Promise.all([
      startExport({ ...body, project_id: "prj_race" }, { "idempotency-key": "exp-race" }),
      startExport({ ...body, project_id: "prj_race" }, { "idempotency-key": "exp-race" }),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    expect(exportCalls()).toBe(before + 2);
    const retried = await startExport({ ...body, project_id: "prj_race" }, { "idempotency-key": "exp-race" });
    expect([retried.status, retried.body.data.job_id]).toEqual([200, "job_slow_idem"]);

    // A failed export leaves the key unused: the retry goes upstream again.
    world.rendley.enqueueExport({ status: 503 });
    expect((await startExport(body, { "idempotency-key": "exp-fail" })).status).toBe(502);
    expect((await startExport(body, { "idempotency-key": "exp-fail" })).status).toBe(201);
    expect(exportCalls()).toBe(before + 4);
  });

  it("passes /v1/export/cost through: Rendley's status and body, the relay's fields left out", async () => {
    const res = await world.api("/v1/export/cost", {
      method: "POST",
      json: { ...RENDLEY_BODY, callback_url: world.receiver.url(), metadata: { a: 1 } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { credits: 10 } });
    const call = world.rendley.calls("POST", "/v1/export/cost").at(-1)!;
    expect(JSON.parse(call.body)).toEqual(RENDLEY_BODY);
    expect(call.headers.authorization).toBe(`Bearer ${world.rendley.apiKey}`);

    world.rendley.enqueueCost({ status: 201, json: { data: { credits: 42, breakdown: [{ item: "render", credits: 42 }] } } });
    const custom = await world.api("/v1/export/cost", { method: "POST", json: RENDLEY_BODY });
    expect([custom.status, custom.body]).toEqual([201, { data: { credits: 42, breakdown: [{ item: "render", credits: 42 }] } }]);

    world.rendley.enqueueCost({ status: 400, json: { error: { code: "bad_request", message: "unknown codec" } } });
    const refused = await world.api("/v1/export/cost", { method: "POST", json: RENDLEY_BODY });
    expect([refused.status, refused.body.error.code]).toEqual([400, "upstream_error"]);
    expect(refused.body.error.message).toContain("unknown codec");

    world.rendley.enqueueCost({ status: 200, body: "not json" });
    const garbled = await world.api("/v1/export/cost", { method: "POST", json: RENDLEY_BODY });
    expect([garbled.status, garbled.body.error.code]).toEqual([502, "upstream_error"]);
    const notObject = await world.api("/v1/export/cost", { method: "POST", json: [1] });
    expect(notObject.status).toBe(400);
  });

  it("uses each tenant's own Rendley key, and refuses a tenant without one before calling Rendley", async () => {
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    const rendleyKey = world.rendley.addAccount();
    const created = await world.api("/v1/admin/tenants", {
      method: "POST",
      headers: admin,
      json: { name: "t", rendley_api_key: rendleyKey },
    });
    expect(created.status).toBe(201);
    const apiKey = created.body.data.api_key.key as string;
    const as = { authorization: `Bearer ${apiKey}` };
    const secret = (await world.api("/v1/signing-secret", { headers: as })).body.data.secret as string;
    const receiver = await startReceiver({ secrets: [secret] });
    try {
      const res = await startExport({ ...RENDLEY_BODY, callback_url: receiver.url() }, as);
      expect(res.status).toBe(201);
      expect(world.rendley.calls("POST", "/v1/export").at(-1)!.headers.authorization).toBe(`Bearer ${rendleyKey}`);
      await waitFor(() => receiver.received.find((r) => r.body?.type === "job.completed"), { timeoutMs: 15_000 });
      expect(receiver.received.every((r) => r.verified && r.body.data.job_id === res.body.data.job_id)).toBe(true);
      const polls = world.rendley.requests.filter((r) => r.path === `/v1/jobs/${res.body.data.job_id}`);
      expect(polls.every((p) => p.headers.authorization === `Bearer ${rendleyKey}`)).toBe(true);
      const cost = await world.api("/v1/export/cost", { method: "POST", json: RENDLEY_BODY, headers: as });
      expect(cost.status).toBe(200);
      expect(world.rendley.calls("POST", "/v1/export/cost").at(-1)!.headers.authorization).toBe(`Bearer ${rendleyKey}`);
    } finally {
      await receiver.close();
    }

    const keyless = await world.api("/v1/admin/tenants", { method: "POST", headers: admin, json: { name: "keyless" } });
    const keylessAuth = { authorization: `Bearer ${keyless.body.data.api_key.key}` };
    const before = { ...(await stored()), calls: exportCalls() };
    const refused = await startExport({ ...RENDLEY_BODY, callback_url: world.receiver.url() }, keylessAuth);
    expect([refused.status, refused.body.error.code]).toEqual([409, "rendley_key_missing"]);
    expect({ ...(await stored()), calls: exportCalls() }).toEqual(before);
  });

  it("describes both routes in the OpenAPI document", async () => {
    const doc = (await world.api("/openapi.json")).body;
    expect(Object.keys(doc.paths["/v1/export"].post.responses)).toEqual(
      expect.arrayContaining(["201", "200", "400", "409", "502", "504"]),
    );
    expect(doc.paths["/v1/export/cost"].post.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.components.schemas.StartExport.properties).toHaveProperty("callback_url");
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)(
  "POST /v1/export with one Idempotency-Key on two relay processes (Postgres)",
  () => {
    let world: TestWorld;
    let second: Relay;
    beforeAll(async () => {
      world = await startWorld({ driver: "postgres", env: { UPSTREAM_TIMEOUT_MS: "5000" } });
      second = await startRelay(loadConfig({ ...relayTestEnv(world.rendley), ...world.store.env, UPSTREAM_TIMEOUT_MS: "5000" }), {
        logger: createLogger({ level: "silent" }),
        roles: { scheduler: false, delivery: false, maintenance: false },
      });
    });
    afterAll(async () => {
      await second?.stop({ graceMs: 100 });
      await world?.close();
    });

    const startExportOn = async (relay: Relay, body: Record<string, unknown>, key: string) => {
      const res = await fetch(`${relay.url}/v1/export`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json", "idempotency-key": key },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };

    it("starts one export: the request on the other process is told to retry, and its retry gets the first job", async () => {
      const body = { ...RENDLEY_BODY, project_id: "prj_two", callback_url: world.receiver.url() };
      const before = world.rendley.calls("POST", "/v1/export").length;
      world.rendley.enqueueExport({ status: 200, json: { data: { job_id: "job_two_relays" } }, delayMs: 500 });
      const [a, b] = await Promise.all([
        startExportOn(world.relay, body, "two-relays"),
        startExportOn(second, body, "two-relays"),
      ]);
      expect([a.status, b.status].sort()).toEqual([201, 409]);
      expect([a, b].find((r) => r.status === 409)!.body.error.code).toBe("idempotency_conflict");
      expect(world.rendley.calls("POST", "/v1/export")).toHaveLength(before + 1);

      for (const relay of [world.relay, second]) {
        const retried = await startExportOn(relay, body, "two-relays");
        expect([retried.status, retried.body.data.job_id]).toEqual([200, "job_two_relays"]);
      }
      expect(world.rendley.calls("POST", "/v1/export")).toHaveLength(before + 1);
      // The key's lease is gone once the watch is stored: nothing is left behind in the leases table.
      const leases = await world.relay.deps.db.rows<{ n: number }>(
        sql`select count(*)::int as n from leases where name like 'export:%'`,
      );
      expect(leases[0]!.n).toBe(0);
    });
  },
);
