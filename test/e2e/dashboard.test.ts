import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { startWorld, TEST_API_KEY, type TestWorld } from "../support/relay-harness.js";
import { DRIVERS } from "../support/test-db.js";
import { waitFor } from "../support/wait-for.js";

const ADMIN_KEY = "admin_key_0123456789abcdefghij";
const ENCRYPTION_KEY = Buffer.alloc(32, 5).toString("base64");

/** A browser stand-in: keeps the cookies the dashboard sets (by name) and sends them back. */
class Client {
  readonly cookies = new Map<string, string>();
  readonly setCookies: string[] = [];
  constructor(readonly base: string) {}

  async request(path: string, init: RequestInit & { form?: Record<string, string> } = {}) {
    const { form, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (this.cookies.size > 0) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    if (form) headers.set("content-type", "application/x-www-form-urlencoded");
    const res = await fetch(`${this.base}${path}`, {
      redirect: "manual",
      ...rest,
      headers,
      ...(form ? { method: "POST", body: new URLSearchParams(form).toString() } : {}),
    });
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair = ""] = line.split(";");
      const name = pair.slice(0, pair.indexOf("="));
      const value = pair.slice(pair.indexOf("=") + 1);
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, headers: res.headers, html: await res.text(), location: res.headers.get("location") };
  }

  /** The hidden csrf field of the page. */
  static csrf(html: string): string {
    const match = /name="csrf" value="([^"]+)"/.exec(html);
    if (!match?.[1]) throw new Error("no csrf field on the page");
    return match[1];
  }

  async login(key: string) {
    const form = await this.request("/dashboard/login");
    return this.request("/dashboard/login", { form: { csrf: Client.csrf(form.html), key } });
  }
}

describe.each(DRIVERS)("dashboard (HTTP) on %s", (driver) => {
  let world: TestWorld;
  let client: Client;

  beforeAll(async () => {
    world = await startWorld({
      driver,
      // Subscriptions list at the smallest interval allowed, so a listing (and its error) shows within seconds.
      env: { RELAY_ADMIN_KEY: ADMIN_KEY, RELAY_ENCRYPTION_KEY: ENCRYPTION_KEY, SUBSCRIPTION_LIST_INTERVAL_MS: "2000" },
    });
    client = new Client(world.relay.url);
  });
  afterAll(async () => {
    await world?.close();
  });

  it("refuses without a valid session and logs in only with a live key", async () => {
    const anonymous = new Client(world.relay.url);
    expect(await anonymous.request("/dashboard")).toMatchObject({ status: 303, location: "/dashboard/login" });
    expect((await anonymous.request("/dashboard/watches/wch_x/redeliver", { form: { csrf: "x" } })).status).toBe(401);

    const wrong = await anonymous.login("rrk_not_a_key");
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain("This API key is not valid.");
    expect(anonymous.cookies.has("rr_session")).toBe(false);

    // The login form's nonce must come back with its cookie (no cross-site login).
    const noNonce = await new Client(world.relay.url).request("/dashboard/login", {
      form: { csrf: "x".repeat(32), key: TEST_API_KEY },
    });
    expect(noNonce.status).toBe(403);

    const ok = await client.login(TEST_API_KEY);
    expect(ok).toMatchObject({ status: 303, location: "/dashboard" });
    const cookie = client.setCookies.find((line) => line.startsWith("rr_session="))!;
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Strict/i);
    expect(cookie).toMatch(/; Path=\/dashboard/i);
    expect(cookie).not.toContain(TEST_API_KEY);
    const page = await client.request("/dashboard");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    expect(page.html).toContain("<h1>Watches</h1>");

    // A tampered session (another key id, or a changed expiry) is refused.
    const token = client.cookies.get("rr_session")!;
    const [v, tenant, key, expiry, mac] = token.split(".");
    for (const forged of [`${v}.${tenant}.${key}.${Number(expiry) + 1000}.${mac}`, `${v}.${tenant}.key_other.${expiry}.${mac}`]) {
      const res = await fetch(`${world.relay.url}/dashboard`, {
        redirect: "manual",
        headers: { cookie: `rr_session=${forged}` },
      });
      expect(res.status).toBe(303);
    }
  });

  it("ends the sessions of a revoked key and keeps tenants apart", async () => {
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    const created = await world.api("/v1/admin/tenants", { method: "POST", headers: admin, json: { name: "other" } });
    expect(created.status).toBe(201);
    const other = new Client(world.relay.url);
    expect((await other.login(created.body.data.api_key.key)).status).toBe(303);
    const mine = await world.watch({ job_id: "job_only_default", metadata: { who: "default" } });
    const list = await other.request("/dashboard");
    expect(list.status).toBe(200);
    expect(list.html).not.toContain(mine.id);
    expect(list.html).toContain('data-testid="count-all">0<');
    expect((await other.request(`/dashboard/watches/${mine.id}`)).status).toBe(404);
    const csrf = Client.csrf(list.html);
    expect((await other.request(`/dashboard/watches/${mine.id}/redeliver`, { form: { csrf } })).status).toBe(404);

    const revoked = await world.api(`/v1/admin/tenants/${created.body.data.tenant.id}/api-keys/${created.body.data.api_key.id}`, {
      method: "DELETE",
      headers: admin,
    });
    expect(revoked.status).toBeLessThan(300);
    expect(await other.request("/dashboard")).toMatchObject({ status: 303, location: "/dashboard/login" });
  });

  it("charts the notify latency of acknowledged terminal events", async () => {
    world.rendley.addJob({ id: "job_latency", steps: ["completed"] });
    const watch = await world.watch({ job_id: "job_latency" });
    await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    const page = await client.request("/dashboard");
    expect(page.html).toMatch(/data-testid="latency-point"/);
    expect(page.html).toMatch(/<title>\d\d:\d\dZ · \d+ acknowledged · p50 \d+ ms · p95 \d+ ms<\/title>/);
    expect(page.html).toMatch(/[1-9]\d* acknowledged deliver/);
  });

  it("escapes hostile job ids and metadata everywhere", async () => {
    const hostile = `<script>alert(1)</script>`;
    const watch = await world.watch({
      job_id: "job_hostile",
      metadata: { note: hostile, attr: `"><img src=x onerror=alert(2)>`, [`<b>key</b>`]: "'single'" },
    });
    // A job id the API would refuse, written straight into the table: the page must escape it anyway.
    await world.relay.deps.db.rows(sql`update watches set job_id = ${`job_<img src=x onerror=alert(3)>`} where id = ${watch.id}`);
    const pages = [
      await client.request(`/dashboard/watches/${watch.id}`),
      await client.request(`/dashboard?q=${encodeURIComponent(watch.id)}`),
      await client.request(`/dashboard?q=${encodeURIComponent(`"><script>alert(4)</script>`)}`),
    ];
    for (const page of pages) {
      expect(page.status).toBe(200);
      expect(page.html).not.toMatch(/<script|<img|<b>key/i);
    }
    expect(pages[0]!.html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(pages[0]!.html).toContain("job_&lt;img src=x onerror=alert(3)&gt;");
    expect(pages[1]!.html).toContain("job_&lt;img src=x onerror=alert(3)&gt;");
    expect(pages[2]!.html).toContain('value="&quot;&gt;&lt;script&gt;alert(4)&lt;/script&gt;"');
  });

  it("shows subscriptions with their last listing and error, and the watches they discovered", async () => {
    const project = `prj_dash_${driver}`;
    const hostile = `<script>alert(5)</script>`;
    const subscription = async (body: Record<string, unknown>) => {
      const res = await world.api("/v1/subscriptions", { method: "POST", json: { callback_url: world.receiver.url(), ...body } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.data;
    };
    const apiView = async (id: string) => (await world.api(`/v1/subscriptions/${id}`)).body.data;
    const row = (html: string, id: string) => {
      const match = new RegExp(`<tr data-subscription-id="${id}">([\\s\\S]*?)</tr>`).exec(html);
      if (!match) throw new Error(`no row of ${id} on the page`);
      return match[1]!;
    };

    world.rendley.addEditorJob({ projectId: project, steps: ["completed"] }); // finished before: the baseline
    const sub = await subscription({ filter: { source_type: "studio", project_id: project }, metadata: { note: hostile } });
    const fresh = await client.request("/dashboard/subscriptions");
    expect(fresh.status).toBe(200);
    expect(fresh.html).toContain('aria-current="page">Subscriptions<');
    expect(row(fresh.html, sub.id)).toContain(`source_type=studio · project_id=${project}`);
    expect(row(fresh.html, sub.id)).toContain(`<code>${world.receiver.url()}</code>`);

    await waitFor(async () => (await apiView(sub.id)).baseline_at !== null, { timeoutMs: 15_000, message: "the baseline" });
    const job = world.rendley.addEditorJob({ projectId: project, steps: ["processing"] });
    const watch = await waitFor(
      async () => (await world.api(`/v1/watches?subscription_id=${sub.id}`)).body.data.find((w: any) => w.job_id === job),
      { timeoutMs: 15_000, message: "the discovered watch" },
    );
    // The listing that made the watch is recorded once it is read whole: then both jobs were in it.
    await waitFor(async () => (await apiView(sub.id)).last_job_count === 2, { timeoutMs: 15_000, message: "the listing" });
    expect(await apiView(sub.id)).toMatchObject({ discovered_count: 1, last_error: null });
    const listed = await client.request("/dashboard/subscriptions");
    const cells = row(listed.html, sub.id);
    expect(cells).toContain('<span class="badge s-active">active</span>');
    expect(cells).toContain('data-testid="discovered-count">1<');
    expect(cells).toContain('data-testid="last-job-count">2 jobs<');
    expect(cells).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/); // baseline and last listing taken
    expect(cells).not.toContain("last-error");

    const detail = await client.request(`/dashboard/subscriptions/${sub.id}`);
    expect(detail.status).toBe(200);
    expect(detail.html).toContain(`data-watch-id="${watch.id}"`);
    expect([...detail.html.matchAll(/data-watch-id="/g)]).toHaveLength(1); // the baseline job is no watch
    expect(detail.html).toContain("&lt;script&gt;alert(5)&lt;/script&gt;");
    expect(detail.html).not.toMatch(/<script/i);
    const watchPage = await client.request(`/dashboard/watches/${watch.id}`);
    expect(watchPage.html).toContain('data-testid="service">api<');
    expect(watchPage.html).toContain(`href="/dashboard/subscriptions/${sub.id}" data-testid="subscription-link"`);
    // Two older watches of the subscription, written straight into the tables: its watches page newest first.
    const db = world.relay.deps.db;
    await db.rows(sql`
      insert into polls (id, tenant_id, job_id, status, next_poll_at, interval_ms, job_status, job_type)
      select 'pol_subpage_' || i, 'ten_default', 'job_subpage_' || i, 'done', now(), 1000, 'completed', 'export_video'
      from generate_series(1, 2) i`);
    await db.rows(sql`
      insert into watches (id, tenant_id, poll_id, job_id, callback_url, events, status, subscription_id, created_at, updated_at)
      select 'wch_subpage_' || i, 'ten_default', 'pol_subpage_' || i, 'job_subpage_' || i, 'http://127.0.0.1:9/hook',
             array['job.completed'], 'delivered', ${sub.id}, now() - i * interval '1 hour', now()
      from generate_series(1, 2) i`);
    const watchIds = (html: string) => [...html.matchAll(/data-watch-id="([^"]+)"/g)].map((m) => m[1]);
    const firstWatches = await client.request(`/dashboard/subscriptions/${sub.id}?limit=2`);
    expect(watchIds(firstWatches.html)).toEqual([watch.id, "wch_subpage_1"]);
    expect(firstWatches.html).toMatch(/Watches <span class="muted">\(3\)<\/span>/);
    expect(firstWatches.html).toContain('data-testid="count-delivered">2<');
    expect(firstWatches.html).toContain('data-testid="count-watching">1<');
    const nextWatches = /href="([^"]+)" rel="next"/.exec(firstWatches.html)![1]!.replaceAll("&amp;", "&");
    expect(nextWatches).toMatch(/limit=2/);
    expect(watchIds((await client.request(nextWatches)).html)).toEqual(["wch_subpage_2"]);

    const registered = await world.watch({ job_id: "job_dash_registered" });
    expect((await client.request(`/dashboard/watches/${registered.id}`)).html).toContain("none: registered by an app");

    // Garbage for the next two listings: the subscription's last error, highlighted on both pages, then cleared.
    world.rendley.enqueueList({ status: 200, body: "garbage" }, { status: 200, body: "garbage" });
    await waitFor(async () => (await apiView(sub.id)).last_error?.startsWith("upstream_bad_response"), {
      timeoutMs: 15_000,
      message: "the listing error",
    });
    const failing = await client.request("/dashboard/subscriptions");
    expect(row(failing.html, sub.id)).toMatch(/<span class="badge bad" data-testid="last-error">upstream_bad_response/);
    const failingDetail = await client.request(`/dashboard/subscriptions/${sub.id}`);
    expect(failingDetail.html).toMatch(/<div class="error" role="alert">The last listing failed: <code>upstream_bad_response/);
    await waitFor(async () => (await apiView(sub.id)).last_error === null, { timeoutMs: 15_000, message: "a good listing" });
    expect((await client.request(`/dashboard/subscriptions/${sub.id}`)).html).not.toContain('role="alert"');

    // Newest first, in pages; a hostile filter value is escaped; deleted ones by status.
    const second = await subscription({ filter: { source_type: "studio", project_id: hostile } });
    const first = await client.request("/dashboard/subscriptions?limit=1");
    expect([...first.html.matchAll(/data-subscription-id="([^"]+)"/g)].map((m) => m[1])).toEqual([second.id]);
    expect(first.html).toContain("project_id=&lt;script&gt;alert(5)&lt;/script&gt;");
    expect(first.html).not.toMatch(/<script/i);
    const next = /href="([^"]+)" rel="next"/.exec(first.html)![1]!.replaceAll("&amp;", "&");
    const page2 = await client.request(next);
    expect([...page2.html.matchAll(/data-subscription-id="([^"]+)"/g)].map((m) => m[1])).toEqual([sub.id]);
    expect(page2.html).toContain("« First page");
    expect((await world.api(`/v1/subscriptions/${second.id}`, { method: "DELETE" })).status).toBe(200);
    const deleted = await client.request("/dashboard/subscriptions?status=deleted");
    expect([...deleted.html.matchAll(/data-subscription-id="([^"]+)"/g)].map((m) => m[1])).toEqual([second.id]);
    expect(row(deleted.html, second.id)).toContain('<span class="badge s-deleted">deleted</span>');

    expect((await client.request("/dashboard/subscriptions?status=nope")).status).toBe(400);
    expect((await client.request("/dashboard/subscriptions?limit=0")).status).toBe(400);
    expect((await client.request("/dashboard/subscriptions?cursor=garbage")).status).toBe(400);
    expect((await client.request(`/dashboard/subscriptions/${sub.id}?cursor=garbage`)).status).toBe(400);
    expect((await client.request("/dashboard/subscriptions/sub_nope")).status).toBe(404);
    expect(await new Client(world.relay.url).request("/dashboard/subscriptions")).toMatchObject({
      status: 303,
      location: "/dashboard/login",
    });

    // Another tenant sees none of it.
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    const created = await world.api("/v1/admin/tenants", { method: "POST", headers: admin, json: { name: "subs other" } });
    const other = new Client(world.relay.url);
    expect((await other.login(created.body.data.api_key.key)).status).toBe(303);
    const theirs = await other.request("/dashboard/subscriptions");
    expect(theirs.html).not.toContain(sub.id);
    expect(theirs.html).toContain("No subscriptions");
    expect((await other.request(`/dashboard/subscriptions/${sub.id}`)).status).toBe(404);
  });

  it("refuses forms without this session's anti-forgery token", async () => {
    const watch = await world.watch({ job_id: "job_csrf" });
    const page = await client.request(`/dashboard/watches/${watch.id}`);
    const csrf = Client.csrf(page.html);
    const path = `/dashboard/watches/${watch.id}/redeliver`;
    expect((await client.request(path, { form: {} })).status).toBe(403);
    expect((await client.request(path, { form: { csrf: `${csrf}x` } })).status).toBe(403);
    // Another session's token does not fit this session.
    const second = new Client(world.relay.url);
    await second.login(TEST_API_KEY);
    const otherCsrf = Client.csrf((await second.request("/dashboard")).html);
    expect(otherCsrf).not.toBe(csrf);
    expect((await client.request(path, { form: { csrf: otherCsrf } })).status).toBe(403);
    expect((await client.request("/dashboard/logout", { form: { csrf: otherCsrf } })).status).toBe(403);
    // The right token gets through (the job has not finished: nothing to redeliver yet).
    const ok = await client.request(path, { form: { csrf } });
    expect(ok).toMatchObject({ status: 303, location: `/dashboard/watches/${watch.id}?error=watch_active` });
    // Logging out ends the session.
    const out = new Client(world.relay.url);
    await out.login(TEST_API_KEY);
    expect(
      (await out.request("/dashboard/logout", { form: { csrf: Client.csrf((await out.request("/dashboard")).html) } })).status,
    ).toBe(303);
    expect((await out.request("/dashboard")).status).toBe(303);
  });

  it("rate-limits login attempts per client", async () => {
    const app = createApp(world.relay.deps, { onWatchCreated: () => {}, onRedeliver: () => {}, rateLimitNow: () => 0 });
    const form = await app.request("/dashboard/login");
    const nonce = Client.csrf(await form.text());
    const cookie = form.headers.getSetCookie()[0]!.split(";")[0]!;
    const statuses: number[] = [];
    let last = "";
    for (let i = 0; i < 12; i++) {
      const res = await app.request("/dashboard/login", {
        method: "POST",
        headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ csrf: nonce, key: `rrk_wrong_${i}` }).toString(),
      });
      statuses.push(res.status);
      last = await res.text();
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect(last).toContain("Too many login attempts");
    // Over https (or behind a proxy saying so) the cookies are Secure too.
    for (const init of [
      { url: "https://relay.example/dashboard/login" },
      { url: "http://relay.example/dashboard/login", proto: "https" },
    ]) {
      const res = await app.request(init.url, { headers: init.proto ? { "x-forwarded-proto": init.proto } : {} });
      expect(res.headers.getSetCookie()[0]).toMatch(/; Secure/);
    }
    expect((await app.request("http://relay.example/dashboard/login")).headers.getSetCookie()[0]).not.toMatch(/; Secure/);
  });

  it("pages through thousands of watches by keyset, with filters and counters", async () => {
    const N = 3000;
    const db = world.relay.deps.db;
    const before = (await client.request("/dashboard")).html;
    const countBefore = Number(/data-testid="count-all">(\d+)</.exec(before)![1]);
    // Polls are `done` so the scheduler leaves them alone; created_at spreads over N seconds.
    await db.rows(sql`
      insert into polls (id, tenant_id, job_id, status, next_poll_at, interval_ms, job_status, job_type)
      select 'pol_bulk_' || i, 'ten_default', 'job_bulk_' || lpad(i::text, 5, '0'), 'done', now(), 1000,
             case when i % 3 = 0 then 'failed' else 'completed' end, 'export_video'
      from generate_series(1, ${N}::int) i`);
    await db.rows(sql`
      insert into watches (id, tenant_id, poll_id, job_id, callback_url, events, status, created_at, updated_at)
      select 'wch_bulk_' || lpad(i::text, 5, '0'), 'ten_default', 'pol_bulk_' || i, 'job_bulk_' || lpad(i::text, 5, '0'),
             'http://127.0.0.1:9/hook',
             case when i % 2 = 0 then array['job.completed','job.failed'] else array['job.processing','job.completed'] end,
             case when i % 3 = 0 then 'failed' else 'delivered' end,
             timestamptz '2026-01-01T00:00:00Z' + i * interval '1 second', now()
      from generate_series(1, ${N}::int) i`);

    const overview = await client.request("/dashboard");
    expect(Number(/data-testid="count-all">(\d+)</.exec(overview.html)![1])).toBe(countBefore + N);
    expect(overview.html).toContain(`data-testid="count-failed">${N / 3}<`);

    const seen: string[] = [];
    let path: string | null = "/dashboard?q=wch_bulk_&limit=200";
    let pages = 0;
    let slowestMs = 0;
    while (path) {
      const started = performance.now();
      const page = await client.request(path);
      slowestMs = Math.max(slowestMs, performance.now() - started);
      expect(page.status).toBe(200);
      seen.push(...[...page.html.matchAll(/data-watch-id="([^"]+)"/g)].map((m) => m[1]!));
      const next = /href="([^"]+)" rel="next"/.exec(page.html)?.[1];
      path = next ? next.replaceAll("&amp;", "&") : null;
      pages++;
    }
    expect(pages).toBe(N / 200);
    expect(new Set(seen).size).toBe(N);
    expect(seen).toEqual([...seen].sort().reverse()); // newest first, no page overlapping the next
    console.log(`dashboard (${driver}): ${N} watches in ${pages} pages, slowest page ${Math.round(slowestMs)} ms`);

    const failed = await client.request("/dashboard?status=failed&event=job.processing&q=job_bulk_&limit=200");
    const ids = [...failed.html.matchAll(/data-watch-id="([^"]+)"/g)].map((m) => Number(m[1]!.slice("wch_bulk_".length)));
    expect(ids.length).toBe(200);
    expect(ids.every((i) => i % 3 === 0 && i % 2 === 1)).toBe(true);
    const one = await client.request("/dashboard?q=job_bulk_01234");
    expect([...one.html.matchAll(/data-watch-id="([^"]+)"/g)].map((m) => m[1])).toEqual(["wch_bulk_01234"]);

    expect((await client.request("/dashboard?status=nope")).status).toBe(400);
    expect((await client.request("/dashboard?cursor=garbage")).status).toBe(400);
  });
});
