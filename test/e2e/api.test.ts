import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isUndocumentedPath } from "../../src/api/openapi-document.js";
import { createApp } from "../../src/api/app.js";
import { startWorld, TEST_API_KEY, TEST_SECRET, type TestWorld } from "../support/relay-harness.js";
import { waitFor } from "../support/wait-for.js";

describe("the watches API", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  const count = async (table: "watches" | "polls" | "deliveries") => {
    const [row] = await world.relay.deps.db.rows<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)}`);
    return row!.n;
  };

  it("refuses bad input with a 4xx error envelope and stores nothing", async () => {
    const before = { watches: await count("watches"), polls: await count("polls") };
    const url = world.receiver.url();
    const cases: Array<[string, RequestInit & { json?: unknown }, number, string]> = [
      ["not JSON", { method: "POST", body: "{nope", headers: { "content-type": "application/json" } }, 400, "invalid_json"],
      [
        "no content type",
        { method: "POST", body: JSON.stringify({ job_id: "j", callback_url: url }) },
        415,
        "unsupported_media_type",
      ],
      [
        "text content type",
        { method: "POST", body: "hi", headers: { "content-type": "text/plain" } },
        415,
        "unsupported_media_type",
      ],
      ["array body", { method: "POST", json: [] }, 400, "validation_failed"],
      ["missing job_id", { method: "POST", json: { callback_url: url } }, 400, "validation_failed"],
      ["job_id wrong type", { method: "POST", json: { job_id: 5, callback_url: url } }, 400, "validation_failed"],
      ["job_id bad chars", { method: "POST", json: { job_id: "job/../x", callback_url: url } }, 400, "validation_failed"],
      ["job_id too long", { method: "POST", json: { job_id: "j".repeat(129), callback_url: url } }, 400, "validation_failed"],
      ["unknown field", { method: "POST", json: { job_id: "j", callback_url: url, callbackUrl: url } }, 400, "validation_failed"],
      ["relative URL", { method: "POST", json: { job_id: "j", callback_url: "/hook" } }, 400, "callback_url_invalid"],
      ["ftp URL", { method: "POST", json: { job_id: "j", callback_url: "ftp://127.0.0.1/x" } }, 400, "callback_url_invalid"],
      [
        "credentials",
        { method: "POST", json: { job_id: "j", callback_url: "http://u:p@127.0.0.1/x" } },
        400,
        "callback_url_invalid",
      ],
      [
        "URL too long",
        { method: "POST", json: { job_id: "j", callback_url: `${url}?${"a".repeat(2048)}` } },
        400,
        "validation_failed",
      ],
      [
        "metadata service",
        { method: "POST", json: { job_id: "j", callback_url: "http://169.254.169.254/latest/meta-data" } },
        400,
        "callback_url_forbidden",
      ],
      [
        "private network",
        { method: "POST", json: { job_id: "j", callback_url: "http://10.1.2.3/hook" } },
        400,
        "callback_url_forbidden",
      ],
      [
        "localhost by name",
        { method: "POST", json: { job_id: "j", callback_url: "http://localhost:9/hook" } },
        400,
        "callback_url_forbidden",
      ],
      [
        "IPv6 loopback",
        { method: "POST", json: { job_id: "j", callback_url: "http://[::1]:9/hook" } },
        400,
        "callback_url_forbidden",
      ],
      [
        "numeric private (10.0.0.1)",
        { method: "POST", json: { job_id: "j", callback_url: "http://167772161:9/hook" } },
        400,
        "callback_url_forbidden",
      ],
      [
        "hex private (10.0.0.1)",
        { method: "POST", json: { job_id: "j", callback_url: "http://0xa.1/hook" } },
        400,
        "callback_url_forbidden",
      ],
      ["empty events", { method: "POST", json: { job_id: "j", callback_url: url, events: [] } }, 400, "validation_failed"],
      [
        "unknown event",
        { method: "POST", json: { job_id: "j", callback_url: url, events: ["job.exploded"] } },
        400,
        "validation_failed",
      ],
      [
        "metadata not an object",
        { method: "POST", json: { job_id: "j", callback_url: url, metadata: [1, 2] } },
        400,
        "validation_failed",
      ],
      [
        "metadata over 4 KiB",
        { method: "POST", json: { job_id: "j", callback_url: url, metadata: { x: "y".repeat(4100) } } },
        400,
        "validation_failed",
      ],
      [
        "metadata nested too deep",
        {
          method: "POST",
          json: { job_id: "j", callback_url: url, metadata: JSON.parse(`${'{"a":'.repeat(40)}1${"}".repeat(40)}`) },
        },
        400,
        "validation_failed",
      ],
      [
        "body over 64 KiB",
        { method: "POST", json: { job_id: "j", callback_url: url, metadata: { x: "y".repeat(70_000) } } },
        413,
        "payload_too_large",
      ],
      [
        "bad idempotency key",
        { method: "POST", json: { job_id: "j", callback_url: url }, headers: { "idempotency-key": "has space" } },
        400,
        "validation_failed",
      ],
    ];
    for (const [name, init, status, code] of cases) {
      const res = await world.api("/v1/watches", init);
      expect({ name, status: res.status, code: res.body?.error?.code }).toEqual({ name, status, code });
      expect(typeof res.body.error.message, name).toBe("string");
      expect(JSON.stringify(res.body), name).not.toMatch(/at .*\.(ts|js):\d+/); // no stack traces
    }
    expect({ watches: await count("watches"), polls: await count("polls") }).toEqual(before);
  });

  it("names every invalid field in one answer", async () => {
    const res = await world.api("/v1/watches", { method: "POST", json: { job_id: "", callback_url: 7, events: ["x"] } });
    expect(res.status).toBe(400);
    expect([...new Set(res.body.error.details.map((d: any) => d.path))].sort()).toEqual(["callback_url", "events.0", "job_id"]);
  });

  it("requires the API key on every /v1 route, and not on health checks", async () => {
    for (const [path, method] of [
      ["/v1/watches", "GET"],
      ["/v1/watches", "POST"],
      ["/v1/watches/wch_x", "GET"],
      ["/v1/signing-secret", "GET"],
    ] as const) {
      const none = await world.api(path, { method, headers: { authorization: "" } });
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe("unauthorized");
      const wrong = await world.api(path, { method, headers: { authorization: "Bearer rrk_wrong_key_000000000000" } });
      expect(wrong.status).toBe(401);
    }
    const healthz = await fetch(`${world.relay.url}/healthz`);
    expect(healthz.status).toBe(200);
    expect(await healthz.json()).toEqual({ data: { status: "ok" } });
  });

  it("answers unknown ids and routes with 404 not_found", async () => {
    const res = await world.api("/v1/watches/wch_unknown");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: "not_found", message: "watch not found" } });
    const route = await world.api("/v1/nothing-here");
    expect(route.status).toBe(404);
    expect(route.body.error.code).toBe("not_found");
  });

  it("returns the same watch for a repeated Idempotency-Key, and 409 for a different body", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued"] });
    const body = { job_id: jobId, callback_url: world.receiver.url(), metadata: { a: 1, b: 2 } };
    const first = await world.api("/v1/watches", { method: "POST", json: body, headers: { "idempotency-key": `k-${jobId}` } });
    expect(first.status).toBe(201);
    const again = await world.api("/v1/watches", {
      method: "POST",
      json: { ...body, metadata: { b: 2, a: 1 } }, // same value, other key order
      headers: { "idempotency-key": `k-${jobId}` },
    });
    expect(again.status).toBe(200);
    expect(again.body.data.id).toBe(first.body.data.id);
    const other = await world.api("/v1/watches", {
      method: "POST",
      json: { ...body, metadata: { a: 2 } },
      headers: { "idempotency-key": `k-${jobId}` },
    });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe("idempotency_conflict");
    const list = await world.api(`/v1/watches?job_id=${jobId}`);
    expect(list.body.data).toHaveLength(1);
  });

  it("lists newest first in pages that never overlap, filtered by status and job", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued"] });
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await world.watch({ job_id: jobId })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: any } = await world.api(
        `/v1/watches?job_id=${jobId}&limit=3${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.data.map((w: any) => w.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].reverse());

    const byStatus = await world.api(`/v1/watches?status=watching&job_id=${jobId}&limit=200`);
    expect(byStatus.body.data).toHaveLength(7);
    const none = await world.api(`/v1/watches?status=delivered&job_id=${jobId}`);
    expect(none.body).toEqual({ data: [], next_cursor: null });

    for (const bad of ["limit=0", "limit=201", "limit=x", "status=nope", "cursor=%%%", "cursor=bm9wZQ", "other=1"]) {
      const res = await world.api(`/v1/watches?${bad}`);
      expect({ bad, status: res.status }).toEqual({ bad, status: 400 });
      expect(["validation_failed", "invalid_cursor"]).toContain(res.body.error.code);
    }
  });

  it("cancels a watch: no more polls or callbacks, and with cancel_job the job is canceled upstream", async () => {
    const jobId = world.rendley.addJob({ steps: ["processing"] });
    const control = world.rendley.addJob({ steps: ["processing"] });
    const watch = await world.watch({ job_id: jobId });
    await world.watch({ job_id: control });
    await waitFor(() => world.rendley.polls(jobId) >= 1);
    const res = await world.api(`/v1/watches/${watch.id}?cancel_job=true`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ id: watch.id, status: "canceled", upstream_cancel: "canceled" });
    expect(world.rendley.job(jobId)!.status).toBe("canceled");
    expect(world.rendley.requests.some((r) => r.method === "DELETE" && r.path === `/v1/jobs/${jobId}`)).toBe(true);

    const pollsAtCancel = world.rendley.polls(jobId);
    const controlAtCancel = world.rendley.polls(control);
    await waitFor(() => world.rendley.polls(control) >= controlAtCancel + 2, { timeoutMs: 10_000 });
    expect(world.rendley.polls(jobId)).toBe(pollsAtCancel);
    expect(world.receiver.received.filter((r) => r.body?.data?.watch_id === watch.id)).toHaveLength(0);

    const again = await world.api(`/v1/watches/${watch.id}`, { method: "DELETE" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("watch_finished");
  });

  it("reports already_finished when canceling upstream a job that ended", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued"] });
    const watch = await world.watch({ job_id: jobId });
    await waitFor(() => world.rendley.polls(jobId) >= 1);
    world.rendley.setJob(jobId, "completed");
    const res = await world.api(`/v1/watches/${watch.id}?cancel_job=1`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(res.body.data.upstream_cancel).toBe("already_finished");
  });

  it("refuses to redeliver a watch that is still watching, and 409s a finished one on cancel", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued", "completed"] });
    const watch = await world.watch({ job_id: jobId });
    const early = await world.api(`/v1/watches/${watch.id}/redeliver`, { method: "POST" });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe("watch_active");
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const cancel = await world.api(`/v1/watches/${watch.id}`, { method: "DELETE" });
    expect(cancel.status).toBe(409);
    expect(cancel.body.error.code).toBe("watch_finished");
    expect((await world.api("/v1/watches/wch_nope/redeliver", { method: "POST" })).status).toBe(404);
  });

  it("shows the signing secret to the key holder", async () => {
    const res = await world.api("/v1/signing-secret");
    expect(res).toMatchObject({ status: 200, body: { data: { secret: TEST_SECRET } } });
  });

  it("never logs the API key, the Rendley key or the signing secret", async () => {
    expect(world.logs.length).toBeGreaterThan(20); // this file's requests were logged…
    const text = world.logs.join("\n");
    for (const secret of [TEST_API_KEY, world.rendley.apiKey, TEST_SECRET, TEST_SECRET.slice("whsec_".length)]) {
      expect(text.includes(secret)).toBe(false); // …and none of them carries a secret
    }
  });

  it("serves an OpenAPI 3.1 document that describes every route the app serves", async () => {
    const res = await fetch(`${world.relay.url}/openapi.json`);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe("3.1.0");
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`))
      .sort();
    const served = createApp(world.relay.deps)
      .routes.filter((r) => r.method !== "ALL" && !isUndocumentedPath(r.path))
      .map((r) => `${r.method} ${r.path}`);
    expect(documented).toEqual([...new Set(served)].sort());
    expect(documented).toContain("POST /v1/watches");
  });
});
