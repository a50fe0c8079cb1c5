import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queueFull } from "../support/fake-rendley.js";
import { startWorld, type TestWorld } from "../support/relay-harness.js";
import { DRIVERS } from "../support/test-db.js";
import { waitFor } from "../support/wait-for.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRANSCRIBE_BODY = { project_id: "prj_ai", model_id: "whisper-1", params: { language: "en", nested: [1, { a: null }] } };
const AGENT_BODY = { prompt: "Trim the intro to 5 seconds", project_id: "prj_agent", files: [] };

describe.each(DRIVERS)("start endpoints: POST /v1/ai/{action}, /cost and POST /v1/agent (%s)", (driver) => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld({ driver, env: { UPSTREAM_TIMEOUT_MS: "1000" } });
  });
  afterAll(async () => {
    await world?.close();
  });

  const post = (path: string, json: unknown, headers: Record<string, string> = {}) =>
    world.api(path, { method: "POST", json, headers });
  const stored = async () => {
    const [row] = await world.relay.deps.db.rows<{ watches: number; polls: number }>(
      sql`select (select count(*)::int as n from watches) as watches, (select count(*)::int from polls) as polls`,
    );
    return row!;
  };
  /** Requests to Rendley's AI endpoints (start and cost, any action). */
  const aiCalls = () => world.rendley.requests.filter((r) => r.path.startsWith("/v1/ai/")).length;
  const callbacksOf = (jobId: string) => world.receiver.received.filter((r) => r.body?.data?.job_id === jobId);

  describe("AI", () => {
    it("starts an AI job at Rendley's path with the tenant's key, watches it and delivers the callbacks", async () => {
      const res = await post("/v1/ai/transcribe", {
        ...TRANSCRIBE_BODY,
        callback_url: world.receiver.url("/ai"),
        events: ["job.processing", "job.completed"],
        metadata: { order_id: "ord_ai" },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const { job_id: jobId, watch } = res.body.data;
      expect(watch).toMatchObject({ job_id: jobId, service: "api", subscription_id: null, metadata: { order_id: "ord_ai" } });

      const call = world.rendley.calls("POST", "/v1/ai/transcribe").at(-1)!;
      expect(call.host).toBe("api");
      expect(call.headers.authorization).toBe(`Bearer ${world.rendley.apiKey}`);
      expect(JSON.parse(call.body)).toEqual(TRANSCRIBE_BODY); // the relay's fields stripped, the rest untouched

      const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
      expect(done.job).toMatchObject({ id: jobId, type: "transcribe", status: "completed" });
      const callbacks = callbacksOf(jobId);
      expect(callbacks.map((r) => r.body.type)).toEqual(["job.processing", "job.completed"]);
      expect(callbacks.every((r) => r.verified && r.path === "/ai" && r.body.data.service === "api")).toBe(true);
      expect(callbacks[1]!.body.data.result).toMatchObject({ text: expect.any(String), language_code: "en" });
    });

    it("answers an unknown action with 404 unknown_action: nothing goes upstream, nothing is stored", async () => {
      const before = { ...(await stored()), calls: aiCalls() };
      for (const [path, body] of [
        ["/v1/ai/transcode", { ...TRANSCRIBE_BODY, callback_url: world.receiver.url() }],
        ["/v1/ai/transcode", { callback_url: "http://10.0.0.1/hook", events: ["nope"] }], // whatever the body
        ["/v1/ai/TRANSCRIBE", { ...TRANSCRIBE_BODY, callback_url: world.receiver.url() }],
        ["/v1/ai/transcode/cost", TRANSCRIBE_BODY],
        ["/v1/ai/transcribe%2Fx/cost", TRANSCRIBE_BODY],
      ] as const) {
        const res = await post(path, body);
        expect([path, res.status, res.body.error?.code]).toEqual([path, 404, "unknown_action"]);
      }
      expect((await post("/v1/ai/transcode", TRANSCRIBE_BODY, { authorization: "Bearer nope_nope_nope_nope" })).status).toBe(401);
      expect({ ...(await stored()), calls: aiCalls() }).toEqual(before);
    });

    it("refuses a bad relay field with 400 before anything goes upstream", async () => {
      const before = { ...(await stored()), calls: aiCalls() };
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ ...TRANSCRIBE_BODY }, "validation_failed"], // no callback_url
        [{ ...TRANSCRIBE_BODY, callback_url: "http://10.1.2.3/hook" }, "callback_url_forbidden"],
        [{ ...TRANSCRIBE_BODY, callback_url: "http://169.254.169.254/latest" }, "callback_url_forbidden"],
        [{ ...TRANSCRIBE_BODY, callback_url: world.receiver.url(), events: ["job.exploded"] }, "validation_failed"],
        [{ ...TRANSCRIBE_BODY, callback_url: world.receiver.url(), retry_schedule: "soon" }, "validation_failed"],
      ];
      for (const [body, code] of cases) {
        const res = await post("/v1/ai/transcribe", body);
        expect([res.status, res.body.error?.code]).toEqual([400, code]);
      }
      const agent = await post("/v1/agent", { ...AGENT_BODY, callback_url: "http://192.168.1.1/hook" });
      expect([agent.status, agent.body.error?.code]).toEqual([400, "callback_url_forbidden"]);
      expect(world.rendley.calls("POST", "/v1/agent")).toHaveLength(0);
      expect({ ...(await stored()), calls: aiCalls() }).toEqual(before);
    });

    it("passes Rendley's 402 on with its message and stores nothing", async () => {
      const before = { ...(await stored()), calls: aiCalls() };
      world.rendley.enqueueAi({ status: 402, json: { error: { code: "PAYMENT_REQUIRED", message: "Not enough credits." } } });
      const res = await post("/v1/ai/generate-video", { project_id: "prj_ai", callback_url: world.receiver.url() });
      expect([res.status, res.body.error.code]).toEqual([402, "upstream_error"]);
      expect(res.body.error.message).toBe("Rendley refused the request (402): Not enough credits.");
      expect({ ...(await stored()), calls: aiCalls() }).toEqual({ ...before, calls: before.calls + 1 });
    });

    it("passes cost answers through as received: a number, {credits}, {data: {credits}}", async () => {
      try {
        const cost = () => post("/v1/ai/text-to-speech/cost", { ...TRANSCRIBE_BODY, callback_url: world.receiver.url() });
        world.rendley.setAiCostShape("number");
        const number = await cost();
        expect([number.status, number.body]).toEqual([200, 12]);
        expect(JSON.parse(world.rendley.calls("POST", "/v1/ai/text-to-speech/cost").at(-1)!.body)).toEqual(TRANSCRIBE_BODY);
        world.rendley.setAiCostShape("credits");
        expect((await cost()).body).toEqual({ credits: 12 });
        world.rendley.setAiCostShape("data");
        expect((await cost()).body).toEqual({ data: { credits: 12 } });
        world.rendley.enqueueAiCost({ status: 201, json: 7.5 });
        expect(await cost()).toMatchObject({ status: 201, body: 7.5 });
        world.rendley.enqueueAiCost({ status: 402 });
        expect((await cost()).status).toBe(402);
      } finally {
        world.rendley.setAiCostShape("data");
      }
    });

    it("honours Idempotency-Key: a repeat answers 200 with the same watch; another endpoint with the key → 409", async () => {
      const body = { ...TRANSCRIBE_BODY, project_id: "prj_ai_idem", callback_url: world.receiver.url() };
      const before = aiCalls();
      const first = await post("/v1/ai/transcribe", body, { "idempotency-key": `ai-idem-${driver}` });
      expect(first.status).toBe(201);
      const again = await post("/v1/ai/transcribe", body, { "idempotency-key": `ai-idem-${driver}` });
      expect(again.status).toBe(200);
      expect(again.body.data).toEqual({
        job_id: first.body.data.job_id,
        watch: expect.objectContaining({ id: first.body.data.watch.id }),
      });
      expect(aiCalls()).toBe(before + 1);

      const otherAction = await post("/v1/ai/lipsync", body, { "idempotency-key": `ai-idem-${driver}` });
      expect([otherAction.status, otherAction.body.error.code]).toEqual([409, "idempotency_conflict"]);
      const asExport = await post("/v1/export", body, { "idempotency-key": `ai-idem-${driver}` });
      expect([asExport.status, asExport.body.error.code]).toEqual([409, "idempotency_conflict"]);
      const asAgent = await post("/v1/agent", { ...body, prompt: "x" }, { "idempotency-key": `ai-idem-${driver}` });
      expect([asAgent.status, asAgent.body.error.code]).toEqual([409, "idempotency_conflict"]);
      expect(aiCalls()).toBe(before + 1);
      expect(world.rendley.calls("POST", "/v1/ai/lipsync")).toHaveLength(0);
    });

    it("watches the job whichever shape Rendley answers its id in", async () => {
      try {
        for (const shape of ["object", "data-string", "bare-string"] as const) {
          world.rendley.setJobIdShape(shape);
          const res = await post("/v1/ai/upscale-image", { project_id: `prj_${shape}`, callback_url: world.receiver.url() });
          expect([shape, res.status]).toEqual([shape, 201]);
          const jobId = res.body.data.job_id as string;
          expect(world.rendley.job(jobId)).toMatchObject({ type: "upscale_image", project_id: `prj_${shape}` });
          const done = await world.waitForWatch(res.body.data.watch.id, (w) => w.status === "delivered");
          expect(done.job_status).toBe("completed");
        }
      } finally {
        world.rendley.setJobIdShape("object");
      }
    });
  });

  describe("agent", () => {
    /**
     * Cancels wait for the watch's first poll to be written: a cancel racing that write-back can deadlock on
     * Postgres (cancelWatch locks watch → poll, recordPollResults poll → watches), which is not what these test.
     */
    const untilPolled = (watchId: string) => world.waitForWatch(watchId, (w) => w.job_status !== null);
    const agentPolls = (jobId: string, host: "api" | "agent") =>
      world.rendley.requests.filter((r) => r.host === host && r.method === "GET" && r.path === `/v1/jobs/${jobId}`).length;

    it("starts an agent job at the agent URL, polls it there, and maps its statuses in the callbacks", async () => {
      const res = await post("/v1/agent", {
        ...AGENT_BODY,
        callback_url: world.receiver.url("/agent"),
        events: ["job.processing", "job.completed", "job.canceled"],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const { job_id: jobId, watch } = res.body.data;
      expect(jobId).toMatch(UUID);
      expect(watch.service).toBe("agent");
      const call = world.rendley.calls("POST", "/v1/agent").at(-1)!;
      expect(call.host).toBe("agent");
      expect(call.headers.authorization).toBe(`Bearer ${world.rendley.apiKey}`);
      expect(JSON.parse(call.body)).toEqual(AGENT_BODY);

      const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
      expect(done.job).toMatchObject({ id: jobId, status: "completed" });
      expect(agentPolls(jobId, "agent")).toBeGreaterThanOrEqual(3);
      expect(agentPolls(jobId, "api")).toBe(0);
      const callbacks = callbacksOf(jobId);
      expect(callbacks.map((r) => [r.body.type, r.body.data.status])).toEqual([
        ["job.processing", "processing"], // running
        ["job.completed", "completed"],
      ]);
      expect(callbacks.every((r) => r.verified && r.body.data.service === "agent")).toBe(true);

      world.rendley.setAgentScript({ steps: ["pending", "running", "cancelled"] });
      try {
        const canceled = await post("/v1/agent", { ...AGENT_BODY, callback_url: world.receiver.url("/agent") });
        expect(canceled.status).toBe(201);
        await world.waitForWatch(canceled.body.data.watch.id, (w) => w.status === "delivered");
        const [event] = callbacksOf(canceled.body.data.job_id);
        expect([event!.body.type, event!.body.data.status, event!.body.data.job.status]).toEqual([
          "job.canceled",
          "canceled",
          "cancelled",
        ]);
      } finally {
        world.rendley.setAgentScript({ steps: ["pending", "running", "completed"] });
      }
    });

    it("passes a full queue's 429 on with Retry-After, and stores nothing", async () => {
      const before = await stored();
      world.rendley.enqueueAgent(queueFull(10));
      const res = await post("/v1/agent", { ...AGENT_BODY, callback_url: world.receiver.url() });
      expect([res.status, res.body.error.code, res.headers.get("retry-after")]).toEqual([429, "upstream_error", "10"]);
      expect(res.body.error.message).toContain("The agent queue is full");
      expect(await stored()).toEqual(before);
    });

    it("names the started job when its watch cannot be stored (503), so it can still be registered", async () => {
      const jobId = "5d0c2b7e-3f4a-4b6c-8d9e-0f1a2b3c4d5e";
      const db = world.relay.deps.db;
      // A trigger stands in for a database that fails between Rendley's answer and the watch's insert.
      await db.rows(sql`create function refuse_watch() returns trigger language plpgsql as $$
        begin raise exception 'storage refused'; end $$`);
      await db.rows(sql`create trigger refuse_watch before insert on watches for each row
        when (new.job_id = '5d0c2b7e-3f4a-4b6c-8d9e-0f1a2b3c4d5e') execute function refuse_watch()`);
      try {
        world.rendley.enqueueAgent({ status: 200, json: { data: { job_id: jobId } } });
        const res = await post("/v1/agent", { ...AGENT_BODY, callback_url: world.receiver.url() });
        expect([res.status, res.body.error.code]).toEqual([503, "service_unavailable"]);
        expect(res.body.error.message).toContain(`job_id ${jobId}`);
        expect(res.body.error.message).toContain('POST /v1/watches with "service": "agent"');
      } finally {
        await db.rows(sql`drop trigger refuse_watch on watches`);
        await db.rows(sql`drop function refuse_watch()`);
      }
      const registered = await world.watch({ job_id: jobId, service: "agent" });
      expect(registered).toMatchObject({ job_id: jobId, service: "agent" });
    });

    it("watches an agent job registered with POST /v1/watches {service: agent}", async () => {
      const jobId = world.rendley.addAgentJob({ steps: ["running", "completed"] });
      const watch = await world.watch({ job_id: jobId, service: "agent" });
      expect(watch.service).toBe("agent");
      const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
      expect(done.job_status).toBe("completed");
      expect(agentPolls(jobId, "agent")).toBeGreaterThanOrEqual(2);
      expect(agentPolls(jobId, "api")).toBe(0);
      expect(callbacksOf(jobId).map((r) => r.body.data.service)).toEqual(["agent"]);
    });

    it("answers cancel_job on an agent watch with upstream_cancel unsupported (no cancel URL set)", async () => {
      const jobId = world.rendley.addAgentJob({ steps: ["running"] });
      const watch = await world.watch({ job_id: jobId, service: "agent" });
      await untilPolled(watch.id);
      const res = await world.api(`/v1/watches/${watch.id}?cancel_job=true`, { method: "DELETE" });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ status: "canceled", service: "agent", upstream_cancel: "unsupported" });
      expect(world.rendley.requests.filter((r) => r.path.includes("/cancel"))).toHaveLength(0);
    });

    it("keeps a delivered agent watch delivered after the job is gone (404), and redelivers its stored body", async () => {
      const res = await post("/v1/agent", { ...AGENT_BODY, callback_url: world.receiver.url("/evict") });
      const { job_id: jobId, watch } = res.body.data;
      await world.waitForWatch(watch.id, (w) => w.status === "delivered");
      const [first] = callbacksOf(jobId);
      expect(first!.body.type).toBe("job.completed");

      world.rendley.evictAgentJob(jobId);
      const polled = agentPolls(jobId, "agent");
      const redelivered = await world.api(`/v1/watches/${watch.id}/redeliver`, { method: "POST" });
      expect(redelivered.status).toBe(202);
      const again = await waitFor(() => callbacksOf(jobId)[1], { timeoutMs: 15_000 });
      expect(again.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
      expect(again.body).toEqual(first!.body); // the stored body: the job could not be re-read
      expect(agentPolls(jobId, "agent")).toBe(polled + 1); // it was asked, and answered 404
      const after = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
      expect(after.last_error).toBeNull();
    });

    it("cancels an agent job at RENDLEY_AGENT_CANCEL_URL when it is set", async () => {
      await world.restart({ RENDLEY_AGENT_CANCEL_URL: `${world.rendley.agentUrl}/v1/agent/jobs/{id}/cancel` });
      const jobId = world.rendley.addAgentJob({ steps: ["running"] });
      const watch = await world.watch({ job_id: jobId, service: "agent" });
      await untilPolled(watch.id);
      const res = await world.api(`/v1/watches/${watch.id}?cancel_job=true`, { method: "DELETE" });
      expect(res.body.data).toMatchObject({ status: "canceled", upstream_cancel: "canceled" });
      const cancel = world.rendley.calls("POST", `/v1/agent/jobs/${jobId}/cancel`, "agent");
      expect(cancel).toHaveLength(1);
      expect(cancel[0]!.headers.authorization).toBe(`Bearer ${world.rendley.apiKey}`);
      expect(world.rendley.job(jobId)).toMatchObject({ status: "cancelled" });
    });
  });
});
