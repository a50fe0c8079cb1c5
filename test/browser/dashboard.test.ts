import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, TEST_API_KEY, type TestWorld } from "../support/relay-harness.js";
import { waitFor } from "../support/wait-for.js";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));
const ADMIN_KEY = "admin_key_0123456789abcdefghij";
const ENCRYPTION_KEY = Buffer.alloc(32, 9).toString("base64");

/** The ids listed in the watch table of the page as it is now. */
const listedIds = (page: Page) =>
  page.locator("[data-watch-id]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-watch-id")));
const counter = async (page: Page, status: string) => Number(await page.getByTestId(`count-${status}`).textContent());

describe("dashboard in Chromium", () => {
  let world: TestWorld;
  let browser: Browser;
  const ids: Record<"delivered" | "failing" | "active" | "otherTenant" | "subscription", string> = {
    delivered: "",
    failing: "",
    active: "",
    otherTenant: "",
    subscription: "",
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    world = await startWorld({ env: { RELAY_ADMIN_KEY: ADMIN_KEY, RELAY_ENCRYPTION_KEY: ENCRYPTION_KEY } });
    const { rendley, receiver } = world;
    receiver.respond((req) => (req.path === "/fail" ? { status: 503, body: "receiver is down for maintenance" } : undefined));

    rendley.addJob({
      id: "job_render_delivered",
      type: "export_video",
      steps: ["processing", { status: "completed", result_data: { url: "https://cdn.example/v.mp4" } }],
    });
    rendley.addJob({ id: "job_render_failing", type: "export_video", steps: ["completed"] });
    rendley.addJob({ id: "job_render_active", type: "export_audio", steps: ["processing"] });
    ids.delivered = (
      await world.watch({
        job_id: "job_render_delivered",
        events: ["job.processing", "job.completed"],
        metadata: { order: 1042 },
      })
    ).id;
    ids.failing = (
      await world.watch({ job_id: "job_render_failing", callback_url: receiver.url("/fail"), metadata: { order: 1043 } })
    ).id;
    ids.active = (await world.watch({ job_id: "job_render_active" })).id;

    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    const other = await world.api("/v1/admin/tenants", { method: "POST", headers: admin, json: { name: "other app" } });
    expect(other.status).toBe(201);
    const otherWatch = await world.api("/v1/watches", {
      method: "POST",
      headers: { authorization: `Bearer ${other.body.data.api_key.key}` },
      json: { job_id: "job_other_tenant", callback_url: receiver.url("/other") },
    });
    expect(otherWatch.status).toBe(201);
    ids.otherTenant = otherWatch.body.data.id;

    // A subscription to jobs started in the editor (there are none: it discovers nothing, its first listing is the baseline).
    const subscription = await world.api("/v1/subscriptions", {
      method: "POST",
      json: { callback_url: receiver.url("/editor"), filter: { source_type: "studio", project_id: "prj_editor" } },
    });
    expect(subscription.status).toBe(201);
    ids.subscription = subscription.body.data.id;

    await world.waitForWatch(ids.delivered, (w) => w.status === "delivered");
    await world.waitForWatch(ids.failing, (w) => w.status === "failed");
    await world.waitForWatch(ids.active, (w) => w.job_status === "processing");

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });
  afterAll(async () => {
    await browser?.close();
    await world?.close();
  });

  it("logs in, filters, searches, opens a watch and redelivers it", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const base = world.relay.url;

    // Not logged in: the login form.
    await page.goto(`${base}/dashboard`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/login");

    // A wrong key: 401, the form again with an error.
    await page.getByLabel("API key").fill("rrk_wrong_key_123");
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/dashboard/login") && r.request().method() === "POST"),
      page.getByRole("button", { name: "Log in" }).click(),
    ]);
    expect(refused.status()).toBe(401);
    await expect(page.getByRole("alert").textContent()).resolves.toContain("This API key is not valid.");
    await page.screenshot({ path: `${SCREENSHOTS}login-refused.png` });

    // The right key: the overview, with a session cookie the page's scripts cannot read.
    await page.getByLabel("API key").fill(TEST_API_KEY);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(`${base}/dashboard`);
    const session = (await context.cookies()).find((c) => c.name === "rr_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/dashboard" });
    expect(session!.value).not.toContain(TEST_API_KEY);
    expect(String(await page.evaluate("document.cookie"))).not.toContain("rr_session");

    // Counters of this tenant only; the other tenant's watch is nowhere.
    expect(await counter(page, "all")).toBe(3);
    expect(await counter(page, "delivered")).toBe(1);
    expect(await counter(page, "failed")).toBe(1);
    expect(await counter(page, "watching")).toBe(1);
    expect((await listedIds(page)).sort()).toEqual([ids.delivered, ids.failing, ids.active].sort());
    expect(await page.content()).not.toContain(ids.otherTenant);
    expect(await page.getByTestId("latency-point").count()).toBeGreaterThan(0);
    await page.screenshot({ path: `${SCREENSHOTS}dashboard.png`, fullPage: true });

    // Filter by status.
    await page.getByLabel("Status", { exact: true }).selectOption("failed");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/status=failed/);
    expect(await listedIds(page)).toEqual([ids.failing]);

    // Search by job id prefix (the status filter cleared), and for the other tenant's job: nothing.
    await page.goto(`${base}/dashboard`);
    await page.getByLabel("Job id or watch id (prefix)").fill("job_render_deliv");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/q=job_render_deliv/);
    expect(await listedIds(page)).toEqual([ids.delivered]);
    await page.goto(`${base}/dashboard?q=job_other_tenant`);
    expect(await listedIds(page)).toEqual([]);
    expect((await page.goto(`${base}/dashboard/watches/${ids.otherTenant}`))!.status()).toBe(404);

    // The failing watch: its job, and every attempt on the timeline.
    await page.goto(`${base}/dashboard?status=failed`);
    await page.getByRole("link", { name: ids.failing }).click();
    await page.waitForURL(`${base}/dashboard/watches/${ids.failing}`);
    expect(await page.getByTestId("job-id").textContent()).toBe("job_render_failing");
    const attemptsBefore = await page.getByTestId("attempt").count();
    expect(attemptsBefore).toBe(4); // first try + 3 retries of the 50ms,50ms,50ms schedule
    expect(await page.getByTestId("attempt").first().textContent()).toContain("HTTP 503");
    await page.screenshot({ path: `${SCREENSHOTS}watch-failed.png`, fullPage: true });

    // The receiver is back: Redeliver, and a new, acknowledged attempt appears.
    world.receiver.respond(() => undefined);
    await page.getByRole("button", { name: "Redeliver" }).click();
    await page.waitForURL(/notice=redelivered/);
    expect(await page.getByRole("status").textContent()).toContain("Redelivery queued");
    await waitFor(
      async () => {
        await page.reload();
        return (
          (await page.getByTestId("attempt").count()) > attemptsBefore &&
          (await page.locator('[data-delivery-status="delivered"]').count()) === 1
        );
      },
      { timeoutMs: 15_000, intervalMs: 200, message: "the redelivered attempt did not appear" },
    );
    const last = await page.getByTestId("attempt").last().textContent();
    expect(last).toContain("manual");
    expect(last).toContain("HTTP 200");
    await page.screenshot({ path: `${SCREENSHOTS}watch-redelivered.png`, fullPage: true });
    expect(world.receiver.received.filter((r) => r.path === "/fail").at(-1)).toMatchObject({ status: 200, verified: true });

    // Back on the overview, the counters moved.
    await page.goto(`${base}/dashboard`);
    expect(await counter(page, "delivered")).toBe(2);
    expect(await counter(page, "failed")).toBe(0);

    // The subscriptions page lists the tenant's one subscription; its page shows the filter and its (no) watches.
    await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Subscriptions" }).click();
    await page.waitForURL(`${base}/dashboard/subscriptions`);
    const subscriptionIds = await page
      .locator("[data-subscription-id]")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-subscription-id")));
    expect(subscriptionIds).toEqual([ids.subscription]);
    await page.getByRole("link", { name: ids.subscription }).click();
    await page.waitForURL(`${base}/dashboard/subscriptions/${ids.subscription}`);
    expect(await page.getByTestId("filter").textContent()).toBe("source_type=studio · project_id=prj_editor");
    expect(await listedIds(page)).toEqual([]);

    // Logging out ends the session.
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(`${base}/dashboard/login`);
    await page.goto(`${base}/dashboard`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/login");
    await context.close();
  });
});
