import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/lib/logger.js";
import { startRelay, type Relay } from "../../src/relay.js";
import { startFakeRendley, type FakeRendley } from "../support/fake-rendley.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { captureLogs, relayTestEnv, startWorld, TEST_API_KEY, TEST_SECRET, type TestWorld } from "../support/relay-harness.js";
import { createTestStore, DRIVERS, type TestStore } from "../support/test-db.js";
import { waitFor } from "../support/wait-for.js";

/** Subscriptions list at the smallest interval allowed, so a test sees a few listings in seconds. */
const ENV = { SUBSCRIPTION_LIST_INTERVAL_MS: "2000" };

const callbacksOf = (world: Pick<TestWorld, "receiver">, jobId: string) =>
  world.receiver.received.filter((r) => r.body?.data?.job_id === jobId);

describe.each(DRIVERS)("subscriptions: push for jobs nobody registered (%s)", (driver) => {
  let world: TestWorld;
  let projectSeq = 0;
  /** Every test subscribes to a project of its own, so listings of other tests never announce its jobs. */
  const newProject = () => `prj_sub_${driver}_${++projectSeq}`;

  beforeAll(async () => {
    world = await startWorld({ driver, env: ENV });
  });
  afterAll(async () => {
    await world?.close();
  });

  async function subscribe(body: Record<string, unknown>) {
    const res = await world.api("/v1/subscriptions", { method: "POST", json: { callback_url: world.receiver.url(), ...body } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.data;
  }
  const watchesOf = async (subscriptionId: string) =>
    (await world.api(`/v1/watches?subscription_id=${subscriptionId}&limit=200`)).body.data as any[];
  const listingsOf = (projectId: string) => world.rendley.listCalls().filter((c) => c.query.project_id === projectId);
  const waitForListings = (projectId: string, n: number) =>
    waitFor(() => listingsOf(projectId).length >= n, { timeoutMs: 15_000, message: `${n} listings of ${projectId}` });
  const getSubscription = async (id: string) => (await world.api(`/v1/subscriptions/${id}`)).body.data;

  it.concurrent("refuses a bad subscription with a 4xx envelope and stores nothing", async () => {
    const bad = [
      [{ filter: {} }, "validation_failed"], // source_type is required
      [{ filter: { source_type: "editor" } }, "validation_failed"],
      [{ filter: { source_type: "studio", acknowledged: true } }, "validation_failed"],
      [{ filter: { source_type: "studio", project_id: "prj_refused" }, events: ["job.finished"] }, "validation_failed"],
      [{ filter: { source_type: "studio", project_id: "prj_refused" }, callback_url: "http://169.254.169.254/x" }, undefined],
      [{ filter: { source_type: "studio", project_id: "prj_refused" }, callback_url: "http://10.0.0.7/hook" }, undefined],
    ] as const;
    for (const [body, code] of bad) {
      const res = await world.api("/v1/subscriptions", {
        method: "POST",
        json: { callback_url: world.receiver.url(), ...body },
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      if (code) expect(res.body.error.code).toBe(code);
      else expect(res.body.error.code).toMatch(/^callback_url_/);
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/); // no stack traces
    }
    const stored = (await world.api("/v1/subscriptions?limit=200")).body.data as any[];
    expect(stored.filter((s) => s.filter.project_id === "prj_refused" || s.filter.source_type !== "studio")).toEqual([]);
    expect((await world.api("/v1/subscriptions/sub_nope")).status).toBe(404);
    // The keys of discovered watches (`sub:<subscription>:<job>`) are the relay's: an app cannot take one.
    const taken = await world.api("/v1/watches", {
      method: "POST",
      headers: { "idempotency-key": "sub:sub_1:job_1" },
      json: { job_id: "job_1", callback_url: world.receiver.url() },
    });
    expect(taken.status).toBe(400);
    expect(taken.body.error.code).toBe("validation_failed");
  });

  it.concurrent(
    "a 20 MiB list and a garbage list are the subscription's last_error, and discovery resumes",
    async ({ onTestFinished }) => {
      // The scripted answers go to the next listing of any filter: this subscription gets a world of its own.
      const world = await startWorld({ driver, env: ENV });
      onTestFinished(() => world.close());
      const getSubscription = async (id: string) => (await world.api(`/v1/subscriptions/${id}`)).body.data;
      const project = newProject();
      const sub = (
        await world.api("/v1/subscriptions", {
          method: "POST",
          json: { callback_url: world.receiver.url(), filter: { source_type: "studio", project_id: project } },
        })
      ).body.data;
      await waitFor(async () => (await getSubscription(sub.id)).baseline_at !== null, {
        timeoutMs: 15_000,
        message: "the baseline",
      });
      const huge = `{"data":[${`{"id":"job_x","status":"queued","pad":"${"x".repeat(1000)}"},`.repeat(21_000)}{}]}`;
      world.rendley.enqueueList({ status: 200, body: huge });
      await waitFor(async () => /^list_too_large/.test((await getSubscription(sub.id)).last_error ?? ""), {
        timeoutMs: 15_000,
        message: "too large",
      });
      world.rendley.enqueueList({ status: 200, body: "<html>not json</html>" });
      await waitFor(async () => (await getSubscription(sub.id)).last_error?.startsWith("upstream_bad_response"), {
        timeoutMs: 15_000,
        message: "garbage",
      });
      const job = world.rendley.addEditorJob({ projectId: project, steps: ["processing", "completed"] });
      await waitFor(() => callbacksOf(world, job).length === 1, { timeoutMs: 15_000, message: "discovery after the bad lists" });
      expect((await getSubscription(sub.id)).last_error).toBeNull();
      const metrics = await (await fetch(`${world.relay.url}/metrics`)).text();
      expect(metrics).toMatch(/rendley_relay_subscription_listings_total\{outcome="too_large"\} [1-9]/);
      expect(metrics).toMatch(/rendley_relay_subscription_listings_total\{outcome="bad_response"\} [1-9]/);
    },
  );

  it.concurrent(
    "the first listing is a baseline; later jobs become watches of the subscription, pushed with data.subscription_id",
    async () => {
      const project = newProject();
      const finishedBefore = world.rendley.addEditorJob({ projectId: project, steps: ["completed"] });
      const running = world.rendley.addEditorJob({ projectId: project, steps: ["processing", "processing", "completed"] });
      const apiJob = world.rendley.addJob({ projectId: project, steps: ["processing"] }); // source_type api: not listed
      const other = world.rendley.addEditorJob({ projectId: `${project}_other`, steps: ["processing"] });

      const sub = await subscribe({ filter: { source_type: "studio", project_id: project }, metadata: { team: "video" } });
      expect(sub).toMatchObject({
        status: "active",
        filter: { source_type: "studio", project_id: project },
        include_existing: false,
        baseline_at: null,
        discovered_count: 0,
      });
      expect(sub.id).toMatch(/^sub_/);

      await waitFor(async () => (await getSubscription(sub.id)).baseline_at !== null, {
        timeoutMs: 15_000,
        message: "the baseline",
      });
      const [listing] = listingsOf(project);
      expect(listing!.query).toEqual({ source_type: "studio", project_id: project });
      expect((await watchesOf(sub.id)).map((w) => w.job_id)).toEqual([running]); // the finished one is the baseline

      // The running job's final event reaches the subscription's callback, marked with the subscription.
      await waitFor(() => callbacksOf(world, running).length === 1, {
        timeoutMs: 15_000,
        message: "the running job's completion",
      });
      const [cb] = callbacksOf(world, running);
      expect(cb!.verified).toBe(true);
      expect(cb!.body).toMatchObject({
        type: "job.completed",
        data: { job_id: running, service: "api", subscription_id: sub.id, status: "completed", metadata: { team: "video" } },
      });

      // A job that finished between two listings gets its final event once.
      const quick = world.rendley.addEditorJob({ projectId: project, steps: ["completed"] });
      await waitFor(() => callbacksOf(world, quick).length === 1, { timeoutMs: 15_000, message: "the quick job's completion" });
      const seen = listingsOf(project).length;
      await waitForListings(project, seen + 2); // two more listings see it again: no second watch, no second event
      expect(callbacksOf(world, quick)).toHaveLength(1);
      const watches = await watchesOf(sub.id);
      expect(watches.map((w) => w.job_id).sort()).toEqual([quick, running].sort());
      expect(watches.every((w) => w.subscription_id === sub.id && w.service === "api")).toBe(true);
      for (const id of [finishedBefore, apiJob, other]) expect(callbacksOf(world, id)).toHaveLength(0);
      expect((await getSubscription(sub.id)).discovered_count).toBe(2);
    },
  );

  it.concurrent("include_existing announces the jobs already finished at the first listing", async () => {
    const project = newProject();
    const finished = world.rendley.addEditorJob({
      projectId: project,
      steps: [{ status: "failed", error: { message: "codec missing", code: "E_CODEC" } }],
    });
    const sub = await subscribe({ filter: { source_type: "studio", project_id: project }, include_existing: true });
    await waitFor(() => callbacksOf(world, finished).length === 1, { timeoutMs: 15_000, message: "the finished job's event" });
    expect(callbacksOf(world, finished)[0]!.body.data).toMatchObject({
      subscription_id: sub.id,
      status: "failed",
      error: "codec missing",
      job: { error: { message: "codec missing", code: "E_CODEC" } },
    });
  });

  it.concurrent("two subscriptions with one filter share one listing and one poll stream per job", async () => {
    const project = newProject();
    const filter = { source_type: "studio", project_id: project, job_type: "export_video" };
    const [a, b] = [await subscribe({ filter }), await subscribe({ filter })];
    const job = world.rendley.addEditorJob({ projectId: project, steps: ["queued", "processing", "processing", "completed"] });
    await waitFor(() => callbacksOf(world, job).length === 2, { timeoutMs: 20_000, message: "both subscriptions' callbacks" });
    expect(
      callbacksOf(world, job)
        .map((c) => c.body.data.subscription_id)
        .sort(),
    ).toEqual([a.id, b.id].sort());
    // One listing per interval for the filter, not one per subscription.
    const times = listingsOf(project).map((c) => c.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1_900);
    // One poll stream for the job: never two GETs under the minimum interval apart.
    const polls = world.rendley.pollTimes(job);
    for (let i = 1; i < polls.length; i++) expect(polls[i]! - polls[i - 1]!).toBeGreaterThanOrEqual(900);
  });

  it.concurrent("DELETE stops discovery; existing watches finish, or are canceled with cancel_watches=true", async () => {
    const project = newProject();
    const keep = await subscribe({ filter: { source_type: "studio", project_id: project, source_id: "src_keep" } });
    const cancel = await subscribe({ filter: { source_type: "studio", project_id: project, source_id: "src_cancel" } });
    const jobKeep = world.rendley.addEditorJob({ projectId: project, sourceId: "src_keep", steps: ["processing"] });
    const jobCancel = world.rendley.addEditorJob({ projectId: project, sourceId: "src_cancel", steps: ["processing"] });
    await waitFor(async () => (await watchesOf(keep.id)).length === 1 && (await watchesOf(cancel.id)).length === 1, {
      timeoutMs: 15_000,
    });

    const deleted = await world.api(`/v1/subscriptions/${keep.id}`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ data: { id: keep.id, status: "deleted" }, canceled_watches: 0 });
    const canceled = await world.api(`/v1/subscriptions/${cancel.id}?cancel_watches=true`, { method: "DELETE" });
    expect(canceled.body).toMatchObject({ data: { status: "deleted" }, canceled_watches: 1 });
    expect((await world.api(`/v1/subscriptions/${cancel.id}`, { method: "DELETE" })).status).toBe(200); // again: same

    const deletedAt = Date.now();
    const after = world.rendley.addEditorJob({ projectId: project, sourceId: "src_keep", steps: ["processing"] });
    // A control filter listed twice more: a whole interval went by, in which the deleted filters were due.
    const control = newProject();
    await subscribe({ filter: { source_type: "studio", project_id: control } });
    await waitForListings(control, 3);
    // No listing of the deleted filters (one claimed just before the DELETE may still be read right after it).
    expect(listingsOf(project).filter((c) => c.at > deletedAt + 1_000)).toHaveLength(0);
    expect(await watchesOf(keep.id)).toHaveLength(1); // `after` was not discovered
    expect((await watchesOf(cancel.id))[0].status).toBe("canceled");

    world.rendley.setJob(jobKeep, "completed"); // the kept watch still finishes
    await waitFor(() => callbacksOf(world, jobKeep).length === 1, { timeoutMs: 15_000, message: "the kept watch's event" });
    expect(callbacksOf(world, jobCancel)).toHaveLength(0);
    expect(callbacksOf(world, after)).toHaveLength(0);
  });

  it.concurrent("a relay restarted mid-subscription neither announces a job again nor misses one", async ({ onTestFinished }) => {
    // PGlite keeps its data across the restart in a directory of its own (the shared world lives in memory).
    const dir = await mkdtemp(join(tmpdir(), "relay-sub-restart-"));
    const world = await startWorld({
      driver,
      env: { ...ENV, ...(driver === "pglite" ? { RELAY_DATA_DIR: dir } : {}) },
      relay: { loadDataDir: undefined },
    });
    onTestFinished(async () => {
      await world.close();
      await rm(dir, { recursive: true, force: true });
    });
    const subscribe = async (body: Record<string, unknown>) =>
      (await world.api("/v1/subscriptions", { method: "POST", json: { callback_url: world.receiver.url(), ...body } })).body.data;
    const listingsOf = (projectId: string) => world.rendley.listCalls().filter((c) => c.query.project_id === projectId);
    const project = newProject();
    const sub = await subscribe({ filter: { source_type: "studio", project_id: project }, events: ["job.processing"] });
    const first = world.rendley.addEditorJob({ projectId: project, steps: ["processing"] });
    await waitFor(() => callbacksOf(world, first).length === 1, {
      timeoutMs: 15_000,
      message: "the first job's processing event",
    });

    await world.relay.stop();
    const meanwhile = world.rendley.addEditorJob({ projectId: project, steps: ["processing"] });
    await world.restart(ENV);

    await waitFor(() => callbacksOf(world, meanwhile).length === 1, {
      timeoutMs: 15_000,
      message: "the job added while stopped",
    });
    const listed = listingsOf(project).length;
    await waitFor(() => listingsOf(project).length > listed, { timeoutMs: 15_000, message: "one more listing" });
    expect(callbacksOf(world, first)).toHaveLength(1);
    const watches = (await world.api(`/v1/watches?subscription_id=${sub.id}`)).body.data as any[];
    expect(watches.map((w) => w.job_id).sort()).toEqual([first, meanwhile].sort());
  });
});

const PG = process.env.TEST_DATABASE_URL;

/** Replicas share one database: only Postgres takes several relays at once (PGlite is one process). */
describe.runIf(PG)("subscriptions across two relays on one Postgres", () => {
  let rendley: FakeRendley;
  let receiver: Receiver;
  let store: TestStore;
  const relays: Relay[] = [];

  beforeAll(async () => {
    [rendley, receiver, store] = await Promise.all([
      startFakeRendley(),
      startReceiver({ secrets: [TEST_SECRET] }),
      createTestStore("postgres"),
    ]);
    const logger = createLogger({ level: "warn", destination: captureLogs().stream });
    const env = { ...relayTestEnv(rendley), ...ENV, ...store.env };
    for (let i = 0; i < 2; i++) relays.push(await startRelay(loadConfig(env), { logger }));
  });
  afterAll(async () => {
    await Promise.all(relays.map((r) => r.stop({ graceMs: 500 })));
    await Promise.all([rendley?.close(), receiver?.close()]);
    await store?.drop();
  });

  it("creates each discovered watch once and lists the filter at most once per interval", async () => {
    const project = "prj_two_relays";
    const res = await fetch(`${relays[1]!.url}/v1/subscriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ callback_url: receiver.url(), filter: { source_type: "studio", project_id: project } }),
    });
    expect(res.status).toBe(201);
    const sub = ((await res.json()) as any).data;
    const listings = () => rendley.listCalls().filter((c) => c.query.project_id === project);
    await waitFor(() => listings().length >= 1, { timeoutMs: 15_000, message: "the baseline" });

    const jobs = Array.from({ length: 6 }, () =>
      rendley.addEditorJob({ projectId: project, steps: ["processing", "completed"] }),
    );
    await waitFor(() => jobs.every((id) => callbacksOf({ receiver }, id).length > 0), { timeoutMs: 20_000, message: "6 jobs" });
    const before = listings().length;
    await waitFor(() => listings().length >= before + 2, { timeoutMs: 15_000, message: "two more listings" });

    for (const id of jobs) expect(callbacksOf({ receiver }, id)).toHaveLength(1);
    const page = await fetch(`${relays[0]!.url}/v1/watches?subscription_id=${sub.id}&limit=200`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    const watches = ((await page.json()) as any).data as any[];
    expect(watches.map((w) => w.job_id).sort()).toEqual([...jobs].sort());
    const times = listings().map((c) => c.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1_900);
  });
});
