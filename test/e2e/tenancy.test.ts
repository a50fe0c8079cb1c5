import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startWorld, TEST_API_KEY, TEST_SECRET, type TestWorld } from "../support/relay-harness.js";
import { waitFor } from "../support/wait-for.js";

const ADMIN_KEY = "admin_key_0123456789abcdefghij";
const ENCRYPTION_KEY = Buffer.alloc(32, 11).toString("base64");

interface Tenant {
  id: string;
  apiKey: string;
  rendleyKey: string;
  secret: string;
}

describe("tenants", () => {
  let world: TestWorld;
  let a: Tenant;
  let b: Tenant;
  let receiverA: Receiver;
  let receiverB: Receiver;

  const admin = (path: string, init: RequestInit & { json?: unknown } = {}) =>
    world.api(`/v1/admin${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...init.headers } });
  const as =
    (t: Tenant | string) =>
    (path: string, init: RequestInit & { json?: unknown } = {}) =>
      world.api(path, { ...init, headers: { authorization: `Bearer ${typeof t === "string" ? t : t.apiKey}`, ...init.headers } });

  const createTenant = async (name: string): Promise<Tenant> => {
    const rendleyKey = world.rendley.addAccount();
    const res = await admin("/tenants", { method: "POST", json: { name, rendley_api_key: rendleyKey } });
    expect(res.status).toBe(201);
    expect(JSON.stringify(res.body)).not.toContain(rendleyKey);
    const apiKey = res.body.data.api_key.key as string;
    const secret = (await as(apiKey)("/v1/signing-secret")).body.data.secret as string;
    return { id: res.body.data.tenant.id, apiKey, rendleyKey, secret };
  };

  beforeAll(async () => {
    world = await startWorld({ env: { RELAY_ADMIN_KEY: ADMIN_KEY, RELAY_ENCRYPTION_KEY: ENCRYPTION_KEY } });
    a = await createTenant("app A");
    b = await createTenant("app B");
    receiverA = await startReceiver({ secrets: [a.secret] });
    receiverB = await startReceiver({ secrets: [b.secret] });
  });
  afterAll(async () => {
    await world?.close();
    await Promise.all([receiverA?.close(), receiverB?.close()]);
  });

  it("keeps the admin API behind RELAY_ADMIN_KEY, and tenant routes behind tenant keys", async () => {
    expect((await world.api("/v1/admin/tenants", { headers: { authorization: "" } })).status).toBe(401);
    expect((await as(a)("/v1/admin/tenants")).status).toBe(401); // a tenant key is not the admin key
    expect((await as(ADMIN_KEY)("/v1/watches")).status).toBe(401); // nor the admin key a tenant key
    const list = await admin("/tenants");
    expect(list.status).toBe(200);
    expect(list.body.data.map((t: any) => t.name)).toEqual(expect.arrayContaining(["default", "app A", "app B"]));
    expect(list.body.data.find((t: any) => t.id === a.id)).toMatchObject({ status: "active", rendley_key_set: true });
    expect(JSON.stringify(list.body)).not.toContain(a.rendleyKey);
    expect(a.secret).not.toBe(b.secret);
    expect(a.secret).not.toBe(TEST_SECRET);
  });

  it("polls each tenant's jobs with its own Rendley key and signs with its own secret", async () => {
    const jobA = world.rendley.addJob({ steps: ["queued", "completed"], apiKey: a.rendleyKey });
    const res = await as(a)("/v1/watches", { method: "POST", json: { job_id: jobA, callback_url: receiverA.url() } });
    expect(res.status).toBe(201);
    await waitFor(() => receiverA.received.length === 1, { timeoutMs: 10_000 });
    expect(receiverA.received[0]!.verified).toBe(true); // signed with A's secret
    const polls = world.rendley.requests.filter((r) => r.path === `/v1/jobs/${jobA}`);
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(polls.every((p) => p.headers.authorization === `Bearer ${a.rendleyKey}`)).toBe(true);
  });

  it("never shares a poll between tenants: each polls the same job id with its own key", async () => {
    const job = world.rendley.addJob({ steps: ["processing"], apiKey: a.rendleyKey });
    const wa = (await as(a)("/v1/watches", { method: "POST", json: { job_id: job, callback_url: receiverA.url() } })).body.data;
    const wb = (await as(b)("/v1/watches", { method: "POST", json: { job_id: job, callback_url: receiverB.url() } })).body.data;
    // The job is A's: B's key gets 404 three times and B's watch expires; A's keeps watching.
    await waitFor(async () => (await as(b)(`/v1/watches/${wb.id}`)).body.data.status === "expired", { timeoutMs: 15_000 });
    expect((await as(a)(`/v1/watches/${wa.id}`)).body.data).toMatchObject({ status: "watching", job_status: "processing" });
    const keys = new Set(world.rendley.requests.filter((r) => r.path === `/v1/jobs/${job}`).map((r) => r.headers.authorization));
    expect(keys).toEqual(new Set([`Bearer ${a.rendleyKey}`, `Bearer ${b.rendleyKey}`]));
    const [{ n }] = (await world.relay.deps.db.rows<{ n: number }>(
      sql`select count(*)::int as n from polls where job_id = ${job}`,
    )) as [{ n: number }];
    expect(n).toBe(2);
  });

  it("scopes every endpoint to the caller's tenant", async () => {
    const job = world.rendley.addJob({ steps: ["completed"], apiKey: a.rendleyKey });
    const mine = (await as(a)("/v1/watches", { method: "POST", json: { job_id: job, callback_url: receiverA.url() } })).body.data;
    await waitFor(async () => (await as(a)(`/v1/watches/${mine.id}`)).body.data.status === "delivered");

    const other = as(b);
    expect((await other(`/v1/watches/${mine.id}`)).status).toBe(404);
    expect((await other(`/v1/watches/${mine.id}`, { method: "DELETE" })).status).toBe(404);
    expect((await other(`/v1/watches/${mine.id}/redeliver`, { method: "POST" })).status).toBe(404);
    const listed = await other(`/v1/watches?job_id=${job}`);
    expect(listed.body.data).toEqual([]);
    const all = await other("/v1/watches?limit=200");
    expect(all.body.data.every((w: any) => w.callback_url === receiverB.url())).toBe(true);
    const origins = await other("/v1/origins");
    expect(origins.body.data.every((o: any) => o.origin !== new URL(receiverA.url()).origin)).toBe(true);
    const recovered = await other("/v1/deliveries/recover", {
      method: "POST",
      json: { since: new Date(Date.now() - 3_600_000).toISOString() },
    });
    expect(recovered.body.data.queued).toBe(0);
    // Idempotency keys are per tenant too: B reusing A's key creates B's own watch.
    const body = { job_id: "job_idem", callback_url: receiverA.url() };
    const first = await as(a)("/v1/watches", { method: "POST", json: body, headers: { "idempotency-key": "same" } });
    const second = await other("/v1/watches", { method: "POST", json: body, headers: { "idempotency-key": "same" } });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.data.id).not.toBe(first.body.data.id);
  });

  it("rotates API keys: several work at once, a revoked one stops at once", async () => {
    const created = await admin(`/tenants/${a.id}/api-keys`, { method: "POST", json: { label: "ci" } });
    expect(created.status).toBe(201);
    const second = created.body.data.key as string;
    expect(created.body.data).toMatchObject({ label: "ci", source: "admin", revoked_at: null });
    expect((await as(second)("/v1/watches?limit=1")).status).toBe(200);
    expect((await as(a)("/v1/watches?limit=1")).status).toBe(200);

    const keys = await admin(`/tenants/${a.id}/api-keys`);
    expect(keys.body.data).toHaveLength(2);
    expect(JSON.stringify(keys.body)).not.toContain(second);
    const firstId = keys.body.data.find((k: any) => k.label === "initial").id;
    const revoked = await admin(`/tenants/${a.id}/api-keys/${firstId}`, { method: "DELETE" });
    expect(revoked.body.data.revoked_at).toEqual(expect.any(String));
    expect((await as(a)("/v1/watches?limit=1")).status).toBe(401);
    expect((await as(second)("/v1/watches?limit=1")).status).toBe(200);
    expect((await admin(`/tenants/${b.id}/api-keys/${firstId}`, { method: "DELETE" })).status).toBe(404); // not B's key
    a.apiKey = second;
  });

  it("disables and enables a tenant", async () => {
    expect((await admin(`/tenants/${b.id}/disable`, { method: "POST" })).body.data).toMatchObject({ status: "disabled" });
    const refused = await as(b)("/v1/watches");
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("tenant_disabled");
    expect((await admin(`/tenants/${b.id}/enable`, { method: "POST" })).body.data).toMatchObject({
      status: "active",
      disabled_at: null,
    });
    expect((await as(b)("/v1/watches")).status).toBe(200);
    expect((await admin("/tenants/ten_nope/disable", { method: "POST" })).status).toBe(404);
  });

  it("switches a tenant to a new Rendley key", async () => {
    const fresh = world.rendley.addAccount();
    const res = await admin(`/tenants/${b.id}/rendley-key`, { method: "PUT", json: { rendley_api_key: fresh } });
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toContain(fresh);
    const job = world.rendley.addJob({ steps: ["completed"], apiKey: fresh });
    const watch = (await as(b)("/v1/watches", { method: "POST", json: { job_id: job, callback_url: receiverB.url() } })).body
      .data;
    await waitFor(async () => (await as(b)(`/v1/watches/${watch.id}`)).body.data.status === "delivered", { timeoutMs: 10_000 });
    b.rendleyKey = fresh;
  });

  it("stores Rendley keys only encrypted: no key appears anywhere in the database", async () => {
    const tables = await world.relay.deps.db.rows<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public'`,
    );
    let dump = "";
    for (const { table_name } of tables) {
      const rows = await world.relay.deps.db.rows<{ row: string }>(
        sql`select row_to_json(t)::text as row from ${sql.identifier(table_name)} t`,
      );
      dump += rows.map((r) => r.row).join("\n");
    }
    expect(dump.length).toBeGreaterThan(1000);
    expect(dump).toContain(a.id); // the dump is real…
    for (const secret of [a.rendleyKey, b.rendleyKey, a.apiKey, b.apiKey, TEST_API_KEY, ADMIN_KEY, ENCRYPTION_KEY]) {
      expect(
        dump.includes(secret),
        `${secret.slice(0, 6)} in the database: ${dump.slice(Math.max(0, dump.indexOf(secret) - 200), dump.indexOf(secret) + 50)}`,
      ).toBe(false); // …and holds no key in the clear
    }
    expect(dump).toMatch(/"rendley_key_ciphertext":"v1:[A-Za-z0-9+/=]+"/);
  });

  it("never logs a key or a secret it was given", () => {
    const text = world.logs.join("\n");
    expect(text).toContain("tenant created");
    for (const secret of [
      a.rendleyKey,
      b.rendleyKey,
      a.apiKey,
      b.apiKey,
      a.secret,
      b.secret,
      ADMIN_KEY,
      ENCRYPTION_KEY,
      TEST_API_KEY,
      world.rendley.apiKey,
    ]) {
      expect(text.includes(secret)).toBe(false);
    }
  });
});

describe("multi-tenant mode without RENDLEY_API_KEY", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld({ env: { RENDLEY_API_KEY: "", RELAY_ADMIN_KEY: ADMIN_KEY, RELAY_ENCRYPTION_KEY: ENCRYPTION_KEY } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("starts with no default tenant and only the admin API to create them", async () => {
    expect((await world.api("/v1/watches")).status).toBe(401); // RELAY_API_KEY made no tenant
    const ready = await world.api("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body.data.checks.upstream_key).toBe("unknown");
    const res = await world.api("/v1/admin/tenants", {
      method: "POST",
      json: { name: "only" },
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(res.status).toBe(201);
    expect(res.body.data.tenant.rendley_key_set).toBe(false);
    // A tenant without a Rendley key keeps its watches and says why nothing happens.
    const key = res.body.data.api_key.key;
    const watch = await world.api("/v1/watches", {
      method: "POST",
      json: { job_id: "job_x", callback_url: world.receiver.url() },
      headers: { authorization: `Bearer ${key}` },
    });
    await waitFor(async () => {
      const w = await world.api(`/v1/watches/${watch.body.data.id}`, { headers: { authorization: `Bearer ${key}` } });
      return w.body.data.last_error === "upstream_no_key";
    });
  });
});

describe("without RELAY_ADMIN_KEY", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld({ env: { RELAY_RATE_LIMIT_RPS: "2", RELAY_RATE_LIMIT_BURST: "5" } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("has no admin API", async () => {
    const res = await world.api("/v1/admin/tenants", { headers: { authorization: "Bearer anything-at-all-0123456789" } });
    expect(res.status).toBe(404);
  });

  it("rate-limits each key: the burst passes, then 429 with Retry-After", async () => {
    const statuses: number[] = [];
    let limited: { status: number; headers: Headers; body: any } | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await world.api("/v1/watches?limit=1");
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toContain(429);
    expect(limited!.body.error.code).toBe("rate_limited");
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited!.headers.get("ratelimit-limit")).toBe("5");
    // Health checks are not rate-limited.
    expect((await world.api("/healthz")).status).toBe(200);
  });
});
