import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAdminClient, createRelayClient, RelayError, type Watch } from "../../../src/client/index.js";
import { startScriptedServer, type Reply, type Seen } from "../../support/scripted-server.js";

type Script = (req: Seen) => Reply;

const API_KEY = "rrk_client_test_key_0123456789";
const ADMIN_KEY = "admin_client_test_key_0123456789";

let server: { close(): Promise<void> };
let baseUrl: string;
let seen: Seen[] = [];
let script: Script = () => ({ json: { data: null } });

function watch(id: string, overrides: Partial<Watch> = {}): Watch {
  return {
    id,
    job_id: "job_1",
    service: "api",
    subscription_id: null,
    callback_url: "https://app.example.com/hook",
    events: ["job.completed"],
    metadata: null,
    retry_schedule: null,
    callback_headers: null,
    status: "watching",
    job_status: null,
    job: null,
    last_error: null,
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
    deliveries: [],
    ...overrides,
  };
}

beforeAll(async () => {
  const started = await startScriptedServer((req) => {
    seen.push(req);
    return script(req);
  });
  server = started;
  baseUrl = started.url;
});
afterAll(() => server.close());
beforeEach(() => {
  seen = [];
  script = () => ({ json: { data: null } });
});

const client = () => createRelayClient({ baseUrl, apiKey: API_KEY });
const admin = () => createAdminClient({ baseUrl, adminKey: ADMIN_KEY });
const last = () => seen[seen.length - 1]!;

describe("relay client: request shapes", () => {
  it("registers a watch with the key, the JSON body and the Idempotency-Key", async () => {
    script = () => ({ status: 201, json: { data: watch("wch_1") } });
    const body = {
      job_id: "job_1",
      callback_url: "https://app.example.com/hook",
      events: ["job.completed" as const],
      metadata: { order_id: "ord_42" },
      retry_schedule: "10s,1m",
    };
    const created = await client().watch(body, { idempotencyKey: "idem-1" });
    expect(created.id).toBe("wch_1");
    expect(last()).toMatchObject({ method: "POST", path: "/v1/watches", body });
    expect(last().headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(last().headers["content-type"]).toBe("application/json");
    expect(last().headers["idempotency-key"]).toBe("idem-1");

    await client().watch(body);
    expect(last().headers["idempotency-key"]).toBeUndefined();
  });

  it("starts an export with Rendley's fields and the watch fields in one body, and asks for its price", async () => {
    script = (req) =>
      req.path === "/v1/export/cost"
        ? { json: { data: { credits: 12 } } }
        : { status: 201, json: { data: { job_id: "job_9", watch: watch("wch_9", { job_id: "job_9" }) } } };
    const body = { project_id: "prj_1", settings: { codec: "h264" }, callback_url: "https://app.example.com/hook" };
    const started = await client().startExport(body, { idempotencyKey: "exp-1" });
    expect(started).toMatchObject({ job_id: "job_9", watch: { id: "wch_9", job_id: "job_9" } });
    expect(last()).toMatchObject({ method: "POST", path: "/v1/export", body });
    expect(last().headers["idempotency-key"]).toBe("exp-1");
    await client().startExport(body);
    expect(last().headers["idempotency-key"]).toBeUndefined();

    // Rendley's answer as Rendley sent it: the whole body, not only `data`.
    const cost = await client().exportCost({ project_id: "prj_1" });
    expect(cost).toEqual({ data: { credits: 12 } });
    expect(last()).toMatchObject({ method: "POST", path: "/v1/export/cost", body: { project_id: "prj_1" } });
  });

  it("starts an AI job at its (encoded) action and an agent job, and asks for an AI price as Rendley answered it", async () => {
    const agentJob = "0b6f3c1e-7d2a-4c5b-9e8f-1a2b3c4d5e6f";
    const prices: Record<string, Reply> = {
      "/v1/ai/transcribe/cost": { json: 12 },
      "/v1/ai/text-to-speech/cost": { json: { credits: 3 } },
      "/v1/ai/lipsync/cost": { json: { data: { credits: 40 } } },
    };
    script = (req) =>
      prices[req.path] ??
      (req.path === "/v1/agent"
        ? { status: 201, json: { data: { job_id: agentJob, watch: watch("wch_a", { job_id: agentJob, service: "agent" }) } } }
        : { status: 201, json: { data: { job_id: "job_ai", watch: watch("wch_ai", { job_id: "job_ai" }) } } });
    const body = { project_id: "prj_1", params: { language: "en" }, callback_url: "https://app.example.com/hook" };

    const ai = await client().startAi("transcribe", body, { idempotencyKey: "ai-1" });
    expect(ai).toMatchObject({ job_id: "job_ai", watch: { id: "wch_ai", service: "api" } });
    expect(last()).toMatchObject({ method: "POST", path: "/v1/ai/transcribe", body });
    expect(last().headers["idempotency-key"]).toBe("ai-1");
    await client().startAi("a/b c", body);
    expect(last().path).toBe("/v1/ai/a%2Fb%20c");
    expect(last().headers["idempotency-key"]).toBeUndefined();

    const agent = await client().startAgent(
      { prompt: "Trim the intro", callback_url: body.callback_url },
      { idempotencyKey: "ag-1" },
    );
    expect(agent).toMatchObject({ job_id: agentJob, watch: { service: "agent" } });
    expect(last()).toMatchObject({ method: "POST", path: "/v1/agent", body: { prompt: "Trim the intro" } });
    expect(last().headers["idempotency-key"]).toBe("ag-1");

    expect(await client().aiCost("transcribe", { project_id: "prj_1" })).toBe(12);
    expect(last()).toMatchObject({ method: "POST", path: "/v1/ai/transcribe/cost", body: { project_id: "prj_1" } });
    expect(await client().aiCost("text-to-speech", {})).toEqual({ credits: 3 });
    expect(await client().aiCost("lipsync", {})).toEqual({ data: { credits: 40 } });
    script = () => ({ json: { credits: 7 } });
    expect(await client().exportCost({})).toEqual({ credits: 7 });
  });

  it("answers an unknown AI action and a full agent queue as RelayErrors", async () => {
    script = (req) =>
      req.path === "/v1/agent"
        ? {
            status: 429,
            headers: { "retry-after": "10" },
            json: { error: { code: "upstream_error", message: "Rendley refused the request (429): queue full" } },
          }
        : { status: 404, json: { error: { code: "unknown_action", message: 'no AI action "nope"' } } };
    await expect(client().startAi("nope", { callback_url: "https://app.example.com/hook" })).rejects.toMatchObject({
      status: 404,
      code: "unknown_action",
    });
    await expect(client().aiCost("nope", {})).rejects.toMatchObject({ status: 404, code: "unknown_action" });
    await expect(client().startAgent({ prompt: "x", callback_url: "https://app.example.com/hook" })).rejects.toMatchObject({
      status: 429,
      code: "upstream_error",
    });
    script = () => ({ text: "not json" });
    await expect(client().aiCost("transcribe", {})).rejects.toMatchObject({ code: "invalid_response" });
  });

  it("gets, cancels and redelivers a watch by its (encoded) id", async () => {
    script = (req) => ({ status: req.path.endsWith("/redeliver") ? 202 : 200, json: { data: watch("wch_1") } });
    await client().getWatch("wch_1");
    expect(last()).toMatchObject({ method: "GET", path: "/v1/watches/wch_1", body: undefined });
    expect(last().headers["content-type"]).toBeUndefined();

    await client().getWatch("a/../b?c");
    expect(last().path).toBe("/v1/watches/a%2F..%2Fb%3Fc");

    await client().cancelWatch("wch_1");
    expect(last()).toMatchObject({ method: "DELETE", path: "/v1/watches/wch_1", query: {} });
    await client().cancelWatch("wch_1", { cancelJob: true });
    expect(last()).toMatchObject({ method: "DELETE", path: "/v1/watches/wch_1", query: { cancel_job: "true" } });

    await client().redeliver("wch_1");
    expect(last()).toMatchObject({ method: "POST", path: "/v1/watches/wch_1/redeliver" });
  });

  it("lists one page with filters and maps next_cursor", async () => {
    script = () => ({ json: { data: [watch("wch_2"), watch("wch_1")], next_cursor: "abc" } });
    const page = await client().listWatches({ status: "failed", jobId: "job_1", limit: 2, cursor: "xyz" });
    expect(page.data.map((w) => w.id)).toEqual(["wch_2", "wch_1"]);
    expect(page.nextCursor).toBe("abc");
    expect(last()).toMatchObject({
      method: "GET",
      path: "/v1/watches",
      query: { status: "failed", job_id: "job_1", limit: "2", cursor: "xyz" },
    });

    script = () => ({ json: { data: [], next_cursor: null } });
    expect(await client().listWatches()).toEqual({ data: [], nextCursor: null });
    expect(last().query).toEqual({});
  });

  it("iterates every watch across pages, passing each page's cursor back", async () => {
    const pages: Record<string, { data: Watch[]; next_cursor: string | null }> = {
      "": { data: [watch("wch_5"), watch("wch_4")], next_cursor: "c1" },
      c1: { data: [watch("wch_3"), watch("wch_2")], next_cursor: "c2" },
      c2: { data: [watch("wch_1")], next_cursor: null },
    };
    script = (req) => ({ json: pages[req.query.cursor ?? ""] });
    const ids: string[] = [];
    for await (const w of client().watches({ status: "delivered", limit: 2 })) ids.push(w.id);
    expect(ids).toEqual(["wch_5", "wch_4", "wch_3", "wch_2", "wch_1"]);
    expect(seen.map((r) => r.query)).toEqual([
      { status: "delivered", limit: "2" },
      { status: "delivered", limit: "2", cursor: "c1" },
      { status: "delivered", limit: "2", cursor: "c2" },
    ]);
  });

  it("stops fetching when the iteration stops", async () => {
    script = (req) => ({ json: { data: [watch(`wch_${req.query.cursor ?? "0"}`)], next_cursor: "more" } });
    for await (const w of client().watches()) {
      expect(w.id).toBe("wch_0");
      break;
    }
    expect(seen).toHaveLength(1);
  });

  it("reads and rotates the signing secret, recovers deliveries, lists origins", async () => {
    const secret = { secret: "whsec_abc", previous_expires_at: null };
    script = (req) =>
      req.path === "/v1/deliveries/recover"
        ? { status: 202, json: { data: { queued: 3 } } }
        : req.path === "/v1/origins"
          ? { json: { data: [] } }
          : { status: req.method === "POST" ? 201 : 200, json: { data: secret } };

    expect(await client().getSigningSecret()).toEqual(secret);
    expect(last()).toMatchObject({ method: "GET", path: "/v1/signing-secret" });
    await client().rotateSigningSecret({ gracePeriodS: 60 });
    expect(last()).toMatchObject({ method: "POST", path: "/v1/signing-secret/rotate", body: { grace_period_s: 60 } });
    await client().rotateSigningSecret();
    expect(last().body).toEqual({});

    const since = new Date("2026-01-01T00:00:00Z");
    expect(await client().recoverDeliveries({ since })).toEqual({ queued: 3 });
    expect(last()).toMatchObject({ method: "POST", path: "/v1/deliveries/recover", body: { since: "2026-01-01T00:00:00.000Z" } });
    await client().recoverDeliveries({ since: "2026-01-01T00:00:00Z", until: "2026-01-02T00:00:00Z" });
    expect(last().body).toEqual({ since: "2026-01-01T00:00:00Z", until: "2026-01-02T00:00:00Z" });

    expect(await client().listOrigins()).toEqual([]);
    expect(last()).toMatchObject({ method: "GET", path: "/v1/origins" });
  });

  it("calls health and readiness without the key, and returns the readiness body on 503 too", async () => {
    const notReady = { status: "not_ready", checks: { database: "ok", upstream_key: "rejected" } };
    script = (req) =>
      req.path === "/healthz" ? { json: { data: { status: "ok" } } } : { status: 503, json: { data: notReady } };
    expect(await client().health()).toEqual({ status: "ok" });
    expect(last().headers.authorization).toBeUndefined();
    expect(await client().ready()).toEqual(notReady);
    expect(last()).toMatchObject({ method: "GET", path: "/readyz" });
    expect(last().headers.authorization).toBeUndefined();
  });

  it("keeps a base URL's path prefix and ignores trailing slashes", async () => {
    script = () => ({ json: { data: watch("wch_1") } });
    await createRelayClient({ baseUrl: `${baseUrl}/relay/`, apiKey: API_KEY }).getWatch("wch_1");
    expect(last().path).toBe("/relay/v1/watches/wch_1");
  });

  it("uses the fetch it is given", async () => {
    const calls: string[] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      calls.push(`${init?.method} ${String(input)}`);
      return new Response(JSON.stringify({ data: { status: "ok" } }), { status: 200 });
    };
    const c = createRelayClient({ baseUrl: "http://relay.invalid", apiKey: API_KEY, fetch: fakeFetch });
    expect(await c.health()).toEqual({ status: "ok" });
    expect(calls).toEqual(["GET http://relay.invalid/healthz"]);
    expect(seen).toHaveLength(0);
  });
});

describe("admin client: request shapes", () => {
  const tenant = {
    id: "ten_1",
    name: "app",
    status: "active",
    rendley_key_set: false,
    rendley_key_updated_at: null,
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
    disabled_at: null,
  };
  const key = {
    id: "key_1",
    prefix: "rrk_AbCd…",
    label: null,
    source: "admin",
    created_at: "2026-01-01T00:00:00.000Z",
    revoked_at: null,
  };

  it("sends every admin call with the admin key to its route", async () => {
    script = () => ({ json: { data: tenant } });
    const cases: Array<[() => Promise<unknown>, string, string, unknown]> = [
      [() => admin().createTenant({ name: "app" }), "POST", "/v1/admin/tenants", { name: "app" }],
      [
        () => admin().createTenant({ name: "app", rendleyApiKey: "rk_12345678" }),
        "POST",
        "/v1/admin/tenants",
        { name: "app", rendley_api_key: "rk_12345678" },
      ],
      [() => admin().listTenants(), "GET", "/v1/admin/tenants", undefined],
      [() => admin().getTenant("ten_1"), "GET", "/v1/admin/tenants/ten_1", undefined],
      [() => admin().disableTenant("ten_1"), "POST", "/v1/admin/tenants/ten_1/disable", undefined],
      [() => admin().enableTenant("ten_1"), "POST", "/v1/admin/tenants/ten_1/enable", undefined],
      [
        () => admin().setRendleyKey("ten_1", "rk_abcdefgh"),
        "PUT",
        "/v1/admin/tenants/ten_1/rendley-key",
        { rendley_api_key: "rk_abcdefgh" },
      ],
      [() => admin().createApiKey("ten_1", { label: "ci" }), "POST", "/v1/admin/tenants/ten_1/api-keys", { label: "ci" }],
      [() => admin().createApiKey("ten_1"), "POST", "/v1/admin/tenants/ten_1/api-keys", {}],
      [() => admin().listApiKeys("ten_1"), "GET", "/v1/admin/tenants/ten_1/api-keys", undefined],
      [() => admin().revokeApiKey("ten_1", "key_1"), "DELETE", "/v1/admin/tenants/ten_1/api-keys/key_1", undefined],
    ];
    for (const [call, method, path, body] of cases) {
      await call();
      expect(last()).toMatchObject({ method, path });
      expect(last().body).toEqual(body);
      expect(last().headers.authorization).toBe(`Bearer ${ADMIN_KEY}`);
    }
  });

  it("returns the created tenant with its one-time key", async () => {
    script = () => ({ status: 201, json: { data: { tenant, api_key: { ...key, key: "rrk_secret" } } } });
    const created = await admin().createTenant({ name: "app" });
    expect(created.tenant.id).toBe("ten_1");
    expect(created.api_key.key).toBe("rrk_secret");
  });
});

describe("errors", () => {
  const caught = async (p: Promise<unknown>): Promise<RelayError> => {
    try {
      await p;
    } catch (err) {
      expect(err).toBeInstanceOf(RelayError);
      return err as RelayError;
    }
    throw new Error("expected a RelayError");
  };

  it("turns an error envelope into a RelayError with status, code, message, details and request id", async () => {
    script = () => ({
      status: 400,
      headers: { "x-request-id": "req_1" },
      json: {
        error: {
          code: "validation_failed",
          message: "callback_url: must be an absolute http(s) URL",
          details: [{ path: "callback_url", message: "must be an absolute http(s) URL" }],
        },
      },
    });
    const err = await caught(client().watch({ job_id: "j", callback_url: "nope" }));
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("RelayError");
    expect(err.status).toBe(400);
    expect(err.code).toBe("validation_failed");
    expect(err.message).toBe("callback_url: must be an absolute http(s) URL");
    expect(err.details).toEqual([{ path: "callback_url", message: "must be an absolute http(s) URL" }]);
    expect(err.requestId).toBe("req_1");

    script = () => ({ status: 404, json: { error: { code: "not_found", message: "watch not found" } } });
    const notFound = await caught(client().getWatch("wch_x"));
    expect({ status: notFound.status, code: notFound.code, details: notFound.details }).toEqual({
      status: 404,
      code: "not_found",
      details: undefined,
    });
  });

  it("answers invalid_response for bodies that are not the envelope", async () => {
    script = () => ({ status: 200, text: "<html>hello</html>" });
    expect(await caught(client().getWatch("wch_1"))).toMatchObject({ status: 200, code: "invalid_response" });
    script = () => ({ status: 200, json: { id: "wch_1" } });
    expect(await caught(client().getWatch("wch_1"))).toMatchObject({ status: 200, code: "invalid_response" });
    script = () => ({ status: 502, text: "Bad Gateway" });
    expect(await caught(client().getWatch("wch_1"))).toMatchObject({ status: 502, code: "invalid_response" });
    script = () => ({ status: 500, json: { error: "boom" } });
    expect(await caught(client().getWatch("wch_1"))).toMatchObject({ status: 500, code: "invalid_response" });
  });

  it("answers network_error with status 0 when nothing listens, without the key in the message", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await caught(createRelayClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: API_KEY }).listWatches());
    expect(err.status).toBe(0);
    expect(err.code).toBe("network_error");
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain("ECONNREFUSED");
    expect(err.message).not.toContain(API_KEY);
    const adminErr = await caught(createAdminClient({ baseUrl: `http://127.0.0.1:${port}`, adminKey: ADMIN_KEY }).listTenants());
    expect(adminErr).toMatchObject({ status: 0, code: "network_error" });
    expect(adminErr.message).not.toContain(ADMIN_KEY);
  });

  it("answers network_error when the relay does not answer in time", async () => {
    script = () => ({ hang: true });
    const err = await caught(createRelayClient({ baseUrl, apiKey: API_KEY, timeoutMs: 100 }).getWatch("wch_1"));
    expect(err).toMatchObject({ status: 0, code: "network_error" });
    expect(err.message).toContain("timed out");
  });

  it("answers network_error when the given fetch rejects", async () => {
    const failing: typeof fetch = async () => {
      throw new TypeError("fetch failed", { cause: Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }) });
    };
    const err = await caught(createRelayClient({ baseUrl: "http://relay.invalid", apiKey: API_KEY, fetch: failing }).health());
    expect(err).toMatchObject({ status: 0, code: "network_error" });
    expect(err.message).toContain("ENOTFOUND");
  });

  it("refuses a key that cannot be a header value, without quoting it", () => {
    const bad = "rrk_with a space\nand newline";
    expect(() => createRelayClient({ baseUrl, apiKey: bad })).toThrow(TypeError);
    expect(() => createAdminClient({ baseUrl, adminKey: bad })).toThrow(/printable ASCII/);
    expect(() => createAdminClient({ baseUrl, adminKey: bad })).not.toThrow(/rrk_with/);
    expect(() => createRelayClient({ baseUrl: "ftp://relay", apiKey: API_KEY })).toThrow(TypeError);
  });

  it("refuses an Idempotency-Key that cannot be a header value before sending anything", async () => {
    await expect(client().watch({ job_id: "j", callback_url: "https://x" }, { idempotencyKey: "a\nb" })).rejects.toThrow(
      /idempotency-key header/,
    );
    expect(seen).toHaveLength(0);
  });
});
