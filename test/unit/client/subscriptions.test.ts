import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createRelayClient, RelayError, type Subscription } from "../../../src/client/index.js";
import { startScriptedServer, type Reply, type Seen } from "../../support/scripted-server.js";

type Script = (req: Seen) => Reply;

const API_KEY = "rrk_client_subscriptions_key_0123";

let server: { close(): Promise<void> };
let baseUrl: string;
let seen: Seen[] = [];
let script: Script = () => ({ json: { data: null } });

function subscription(id: string, overrides: Partial<Subscription> = {}): Subscription {
  return {
    id,
    status: "active",
    filter: { source_type: "studio", project_id: "prj_1" },
    callback_url: "https://app.example.com/hook",
    events: ["job.completed", "job.failed", "job.canceled"],
    metadata: null,
    retry_schedule: null,
    callback_headers: null,
    include_existing: false,
    baseline_at: null,
    last_listed_at: null,
    last_job_count: null,
    last_error: null,
    discovered_count: 0,
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
    deleted_at: null,
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
const last = () => seen[seen.length - 1]!;

describe("relay client: subscriptions", () => {
  it("creates a subscription with the key and the JSON body as given", async () => {
    script = () => ({ status: 201, json: { data: subscription("sub_1", { include_existing: true }) } });
    const body = {
      callback_url: "https://app.example.com/hook",
      filter: { source_type: "api" as const, project_id: "prj_1", job_type: "export_video", source_id: "src_9" },
      events: ["job.completed" as const],
      metadata: { team: "video" },
      retry_schedule: "10s,1m",
      callback_headers: { "x-team": "video" },
      include_existing: true,
    };
    const created = await client().createSubscription(body);
    expect(created).toMatchObject({ id: "sub_1", include_existing: true });
    expect(last()).toMatchObject({ method: "POST", path: "/v1/subscriptions", query: {}, body });
    expect(last().headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(last().headers["content-type"]).toBe("application/json");
    expect(last().headers["idempotency-key"]).toBeUndefined();

    await client().createSubscription({ callback_url: "https://app.example.com/hook", filter: { source_type: "studio" } });
    expect(last().body).toEqual({ callback_url: "https://app.example.com/hook", filter: { source_type: "studio" } });
  });

  it("gets a subscription by its (encoded) id", async () => {
    script = () => ({ json: { data: subscription("sub_1") } });
    expect((await client().getSubscription("sub_1")).id).toBe("sub_1");
    expect(last()).toMatchObject({ method: "GET", path: "/v1/subscriptions/sub_1", body: undefined });
    expect(last().headers["content-type"]).toBeUndefined();
    await client().getSubscription("a/../b?c");
    expect(last().path).toBe("/v1/subscriptions/a%2F..%2Fb%3Fc");
  });

  it("deletes a subscription, with cancel_watches only when asked, and returns the count canceled", async () => {
    script = (req) => ({
      json: {
        data: subscription("sub_1", { status: "deleted", deleted_at: "2026-01-02T00:00:00.000Z" }),
        canceled_watches: req.query.cancel_watches === "true" ? 3 : 0,
      },
    });
    const kept = await client().deleteSubscription("sub_1");
    expect(kept).toEqual({ subscription: expect.objectContaining({ id: "sub_1", status: "deleted" }), canceledWatches: 0 });
    expect(last()).toMatchObject({ method: "DELETE", path: "/v1/subscriptions/sub_1", query: {}, body: undefined });
    await client().deleteSubscription("sub_1", { cancelWatches: false });
    expect(last().query).toEqual({});

    const canceled = await client().deleteSubscription("sub_1", { cancelWatches: true });
    expect(canceled.canceledWatches).toBe(3);
    expect(last()).toMatchObject({ method: "DELETE", query: { cancel_watches: "true" } });

    // An answer without the count (an older relay) is no canceled watch, not undefined.
    script = () => ({ json: { data: subscription("sub_1", { status: "deleted" }) } });
    expect((await client().deleteSubscription("sub_1")).canceledWatches).toBe(0);
  });

  it("lists one page with filters and maps next_cursor", async () => {
    script = () => ({ json: { data: [subscription("sub_2"), subscription("sub_1")], next_cursor: "abc" } });
    const page = await client().listSubscriptions({ status: "active", limit: 2, cursor: "xyz" });
    expect(page.data.map((s) => s.id)).toEqual(["sub_2", "sub_1"]);
    expect(page.nextCursor).toBe("abc");
    expect(last()).toMatchObject({
      method: "GET",
      path: "/v1/subscriptions",
      query: { status: "active", limit: "2", cursor: "xyz" },
    });

    script = () => ({ json: { data: [], next_cursor: null } });
    expect(await client().listSubscriptions()).toEqual({ data: [], nextCursor: null });
    expect(last().query).toEqual({});
  });

  it("iterates every subscription across pages, and stops fetching when the iteration stops", async () => {
    const pages: Record<string, { data: Subscription[]; next_cursor: string | null }> = {
      "": { data: [subscription("sub_3"), subscription("sub_2")], next_cursor: "c1" },
      c1: { data: [subscription("sub_1")], next_cursor: null },
    };
    script = (req) => ({ json: pages[req.query.cursor ?? ""] });
    const ids: string[] = [];
    for await (const s of client().subscriptions({ status: "deleted", limit: 2 })) ids.push(s.id);
    expect(ids).toEqual(["sub_3", "sub_2", "sub_1"]);
    expect(seen.map((r) => r.query)).toEqual([
      { status: "deleted", limit: "2" },
      { status: "deleted", limit: "2", cursor: "c1" },
    ]);

    seen = [];
    for await (const s of client().subscriptions()) {
      expect(s.id).toBe("sub_3");
      break;
    }
    expect(seen).toHaveLength(1);
  });

  it("lists the watches of one subscription", async () => {
    script = () => ({ json: { data: [], next_cursor: null } });
    await client().listWatches({ subscriptionId: "sub_1", status: "watching" });
    expect(last()).toMatchObject({ path: "/v1/watches", query: { subscription_id: "sub_1", status: "watching" } });
    for await (const w of client().watches({ subscriptionId: "sub_2" })) expect(w).toBeUndefined();
    expect(last().query).toEqual({ subscription_id: "sub_2" });
  });

  it("answers the relay's refusals as RelayErrors", async () => {
    script = () => ({
      status: 400,
      json: {
        error: {
          code: "validation_failed",
          message: "filter.source_type: expected one of api, studio",
          details: [{ path: "filter.source_type", message: "expected one of api, studio" }],
        },
      },
    });
    const bad = client().createSubscription({
      callback_url: "https://app.example.com/hook",
      filter: { source_type: "editor" as never },
    });
    await expect(bad).rejects.toBeInstanceOf(RelayError);
    await expect(bad).rejects.toMatchObject({
      status: 400,
      code: "validation_failed",
      details: [{ path: "filter.source_type", message: "expected one of api, studio" }],
    });

    script = () => ({ status: 404, json: { error: { code: "not_found", message: "subscription not found" } } });
    await expect(client().getSubscription("sub_nope")).rejects.toMatchObject({ status: 404, code: "not_found" });
    await expect(client().deleteSubscription("sub_nope", { cancelWatches: true })).rejects.toMatchObject({
      status: 404,
      code: "not_found",
    });

    script = () => ({ json: { subscriptions: [] } });
    await expect(client().listSubscriptions()).rejects.toMatchObject({ code: "invalid_response" });
  });
});
