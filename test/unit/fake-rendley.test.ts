import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startRendleySimulator, type RendleySimulator } from "../../demo/rendley-simulator.js";
import { FAKE_AI_ACTIONS, queueFull, startFakeRendley, type FakeRendley } from "../support/fake-rendley.js";

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

/** A real HTTP request over 127.0.0.1; `key: null` sends no Authorization header. */
async function http(base: string, path: string, init: { method?: string; body?: unknown; key?: string | null } = {}) {
  const headers: Record<string, string> = init.key === null ? {} : { authorization: `Bearer ${init.key}` };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, text, body } as Answer;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("fake Rendley: the wider surface", () => {
  let fake: FakeRendley;
  const api = (path: string, init: { method?: string; body?: unknown; key?: string | null } = {}) =>
    http(fake.url, path, { key: fake.apiKey, ...init });
  const agent = (path: string, init: { method?: string; body?: unknown; key?: string | null } = {}) =>
    http(fake.agentUrl, path, { key: fake.apiKey, ...init });
  const ids = (answer: Answer): string[] => (answer.body.data as Array<{ id: string }>).map((j) => j.id);

  beforeEach(async () => {
    fake = await startFakeRendley();
  });
  afterEach(async () => {
    await fake.close();
  });

  it("sends any status verbatim, error objects, extra fields, and treats cancelled as terminal", async () => {
    const id = fake.addJob({
      steps: ["running", "archived", { status: "failed", error: { message: "Out of credits", code: "c" } }],
    });
    expect((await api(`/v1/jobs/${id}`)).body.data.status).toBe("running");
    expect((await api(`/v1/jobs/${id}`)).body.data.status).toBe("archived");
    expect((await api(`/v1/jobs/${id}`)).body.data).toMatchObject({
      status: "failed",
      error: { message: "Out of credits", code: "c" },
    });
    const gone = fake.addJob({ steps: ["cancelled"] });
    expect((await api(`/v1/jobs/${gone}`)).body.data).toMatchObject({ status: "cancelled", error: null });
    expect((await api(`/v1/jobs/${gone}`, { method: "DELETE" })).status).toBe(409);
    fake.setJob(id, { status: "completed", extra: { progress: 100, created_at: "2026-01-01T00:00:00Z" } });
    expect((await api(`/v1/jobs/${id}`)).body.data).toMatchObject({ status: "completed", progress: 100, error: null });
  });

  it("presigns output.url afresh on every read, valid for an hour, and serves the link", async () => {
    const id = fake.addJob({ steps: [{ status: "completed", output: true }], projectId: "prj_out" });
    const first = (await api(`/v1/jobs/${id}`)).body.data.output;
    const second = (await api(`/v1/jobs/${id}`)).body.data.output;
    expect(first).toMatchObject({ media_id: expect.stringMatching(/^med_/), project_id: "prj_out", mime_type: "video/mp4" });
    expect(first.file_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(first.url).toMatch(new RegExp(`^${fake.url}/media/${first.media_id}\\?sig=\\d+$`));
    expect(second.url).not.toBe(first.url);
    expect(Math.abs(Date.parse(second.url_expires_at) - (Date.now() + 3_600_000))).toBeLessThan(60_000);
    expect(fake.job(id)!.output).not.toEqual(second);
    expect((await http(first.url, "", { key: null })).status).toBe(200);
    expect((await http(fake.url, `/media/${first.media_id}?sig=999999`, { key: null })).status).toBe(403);

    fake.setJob(id, { status: "completed", output: { mime_type: "image/png", media_id: "med_custom" } });
    const custom = (await api(`/v1/jobs/${id}`)).body.data.output;
    expect(custom).toMatchObject({
      mime_type: "image/png",
      media_id: "med_custom",
      url: expect.stringContaining("/media/med_custom?sig="),
    });
    expect(fake.job(fake.addJob({ steps: ["completed"] }))).not.toHaveProperty("output");
  });

  it("carries source_type, source_id, project_id and acknowledged; editor jobs are studio", async () => {
    const apiJob = fake.addJob({ steps: ["queued"], projectId: "prj_a" });
    const editor = fake.addEditorJob({ steps: ["queued"], projectId: "prj_b", sourceId: "src_b" });
    expect(fake.job(apiJob)).toMatchObject({ source_type: "api", source_id: "prj_a", project_id: "prj_a", acknowledged: false });
    expect(fake.job(editor)).toMatchObject({ source_type: "studio", source_id: "src_b", project_id: "prj_b" });
  });

  it("answers the job id in each configured shape (export, AI, agent)", async () => {
    const body = { project_id: "prj_1" };
    expect((await api("/v1/export", { body })).body).toEqual({ data: { job_id: expect.stringMatching(/^job_/) } });
    fake.setJobIdShape("data-string");
    expect((await api("/v1/ai/transcribe", { body })).body).toEqual({ data: expect.stringMatching(/^job_/) });
    fake.setJobIdShape("bare-string");
    const bare = await api("/v1/export", { body });
    expect(bare.text).toMatch(/^"job_[0-9a-f]+"$/);
    expect(fake.job(bare.body)).toBeDefined();
    expect((await agent("/v1/agent", { body: { prompt: "hi" } })).body).toMatch(UUID);
  });

  it("lists the caller's jobs newest first with the five filters, defaulting to studio, without advancing", async () => {
    const a = fake.addJob({ type: "transcription", steps: ["queued", "completed"], projectId: "prj_1" });
    const b = fake.addJob({ steps: ["processing"], projectId: "prj_2", sourceId: "src_2" });
    const c = fake.addEditorJob({ steps: ["queued", "processing"], projectId: "prj_1" });
    const d = fake.addJob({ steps: [{ status: "completed", extra: { acknowledged: true } }] });
    fake.addJob({ steps: ["queued"], apiKey: fake.addAccount() });
    fake.addAgentJob({ steps: ["running"] });

    expect(ids(await api("/v1/jobs"))).toEqual([c]);
    expect(ids(await api("/v1/jobs?source_type=api"))).toEqual([d, b, a]);
    expect(ids(await api("/v1/jobs?source_type=api&project_id=prj_1"))).toEqual([a]);
    expect(ids(await api("/v1/jobs?source_type=api&job_type=transcription"))).toEqual([a]);
    expect(ids(await api("/v1/jobs?source_type=api&source_id=src_2"))).toEqual([b]);
    expect(ids(await api("/v1/jobs?source_type=api&acknowledged=true"))).toEqual([d]);
    expect(ids(await api("/v1/jobs?source_type=api&acknowledged=false"))).toEqual([b, a]);
    expect(ids(await api("/v1/jobs?source_type=studio&project_id=prj_1"))).toEqual([c]);
    expect((await api("/v1/jobs?acknowledged=maybe")).body.error.code).toBe("bad_request");
    expect([fake.polls(a), fake.polls(c)]).toEqual([0, 0]);
    expect((await api(`/v1/jobs/${c}`)).body.data.status).toBe("queued");

    // the relay's key probe
    expect((await api("/v1/jobs?source_type=api")).status).toBe(200);
    expect((await api("/v1/jobs?source_type=api", { key: "rk_revoked" })).status).toBe(401);

    const list = fake.listCalls();
    expect(list.length).toBe(11);
    expect(list[1]).toMatchObject({ host: "api", path: "/v1/jobs", query: { source_type: "api" } });
    expect(fake.calls("GET", "/v1/jobs")).toEqual(list);
    expect(fake.calls("GET", `/v1/jobs/${c}`)).toHaveLength(1);
  });

  it("answers queued one-shot list answers first: a 20 MiB body, garbage", async () => {
    const big = JSON.stringify({ data: [{ id: "job_x", status: "queued", pad: "x".repeat(20 * 1024 * 1024) }] });
    fake.enqueueList(
      { status: 200, body: big, headers: { "content-type": "application/json" } },
      { status: 200, body: "<html>" },
    );
    expect((await api("/v1/jobs?source_type=api")).text.length).toBe(big.length);
    expect((await api("/v1/jobs?source_type=api")).text).toBe("<html>");
    expect((await api("/v1/jobs?source_type=api")).body).toEqual({ data: [] });
  });

  it("starts every AI tool as a job of its underscored type; unknown tools 404; project_id required", async () => {
    for (const action of FAKE_AI_ACTIONS) {
      const started = await api(`/v1/ai/${action}`, { body: { project_id: "prj_ai", params: {} } });
      expect(started.status, action).toBe(200);
      const job = (await api(`/v1/jobs/${started.body.data.job_id}`)).body.data;
      expect(job, action).toMatchObject({
        type: action.replace(/-/g, "_"),
        status: "queued",
        source_type: "api",
        project_id: "prj_ai",
      });
    }
    expect(fake.calls("POST", "/v1/ai/transcribe")).toHaveLength(1);
    expect((await api("/v1/ai/make-coffee", { body: { project_id: "p" } })).status).toBe(404);
    const missing = await api("/v1/ai/transcribe", { body: { file_url: "https://x" } });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toEqual({ code: "bad_request", message: expect.any(String) });
    expect((await api("/v1/ai/transcribe", { body: "not json" })).status).toBe(400);

    const id = (await api("/v1/ai/transcribe", { body: { project_id: "p" } })).body.data.job_id;
    for (let i = 0; i < 2; i++) await api(`/v1/jobs/${id}`);
    const done = (await api(`/v1/jobs/${id}`)).body.data;
    expect(done.status).toBe("completed");
    expect(JSON.parse(done.result_data)).toMatchObject({ text: expect.any(String), language_code: "en" });
  });

  it("follows AI scripts per action and for *, and prices in each cost shape", async () => {
    fake.setAiScript("*", { steps: ["failed"], credits: 3 });
    fake.setAiScript("generate-image", { type: "image_generation", steps: [{ status: "completed", output: true }], credits: 7 });
    const start = async (action: string) =>
      (await api(`/v1/jobs/${(await api(`/v1/ai/${action}`, { body: { project_id: "p" } })).body.data.job_id}`)).body.data;
    expect(await start("lipsync")).toMatchObject({ type: "lipsync", status: "failed", error: "render_failed" });
    const image = await start("generate-image");
    expect(image).toMatchObject({ type: "image_generation", output: { mime_type: "image/png" } });

    const cost = (action: string) => api(`/v1/ai/${action}/cost`, { body: { project_id: "p" } });
    expect((await cost("generate-image")).body).toEqual({ data: { credits: 7 } });
    fake.setAiCostShape("number");
    expect((await cost("upscale-video")).text).toBe("3");
    fake.setAiCostShape("credits");
    expect((await cost("generate-image")).body).toEqual({ credits: 7 });
    expect((await api("/v1/ai/transcribe/cost", { body: {} })).status).toBe(400);
    expect((await api("/v1/ai/nope/cost", { body: { project_id: "p" } })).status).toBe(404);
  });

  it("answers queued one-shot AI start and cost answers (402, 500, delays)", async () => {
    fake.enqueueAi({ status: 402 }, { status: 200, json: { data: {} }, delayMs: 50 });
    fake.enqueueAiCost({ status: 500 });
    const body = { project_id: "p" };
    const refused = await api("/v1/ai/generate-video", { body });
    expect(refused).toMatchObject({ status: 402, body: { error: { code: "payment_required" } } });
    expect((await api("/v1/ai/generate-video", { body })).body).toEqual({ data: {} });
    expect((await api("/v1/ai/generate-video/cost", { body })).status).toBe(500);
    expect((await api("/v1/ai/generate-video/cost", { body })).body).toEqual({ data: { credits: 12 } });
    expect((await api("/v1/ai/generate-video", { body })).body.data.job_id).toMatch(/^job_/);
  });

  it("runs agent jobs on the second host: UUID ids, agent statuses, 404 across hosts", async () => {
    expect(fake.agentUrl).not.toBe(fake.url);
    expect((await agent("/v1/agent", { body: { project_id: "prj_1" } })).body.error.code).toBe("BAD_REQUEST");
    expect((await agent("/v1/agent", { body: { prompt: "x" }, key: "nope" })).body.error.code).toBe("UNAUTHORIZED");
    const started = await agent("/v1/agent", { body: { prompt: "Trim the intro", project_id: "prj_1", thread_id: "thr_1" } });
    const id = started.body.data.job_id as string;
    expect(id).toMatch(UUID);
    const statuses: string[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await agent(`/v1/jobs/${id}`)).body.data.status);
    expect(statuses).toEqual(["pending", "running", "completed", "completed"]);
    expect(JSON.parse(fake.job(id)!.result_data as string)).toMatchObject({ thread_id: "thr_1" });
    expect([fake.polls(id), fake.pollTimes(id).length]).toEqual([4, 4]);
    expect((await api(`/v1/jobs/${id}`)).status).toBe(404);
    expect(ids(await api("/v1/jobs?source_type=api"))).toEqual([]);

    const apiJob = fake.addJob({ steps: ["queued"] });
    expect((await agent(`/v1/jobs/${apiJob}`)).body.error.code).toBe("JOB_NOT_FOUND");
    expect((await agent(`/v1/jobs/${id}`, { key: fake.addAccount() })).status).toBe(404);
    fake.enqueue(id, { status: 503 });
    expect((await agent(`/v1/jobs/${id}`)).status).toBe(503);
    expect(fake.calls("POST", "/v1/agent", "agent")).toHaveLength(3);
    expect(fake.calls("POST", "/v1/agent", "api")).toHaveLength(0);
  });

  it("follows agent scripts, evicts finished agent jobs, cancels, and queues one-shot start answers", async () => {
    fake.setAgentScript({
      steps: ["pending", "waiting_input", { status: "failed", error: { message: "no project", code: "E" } }],
    });
    const id = (await agent("/v1/agent", { body: { prompt: "go" } })).body.data.job_id as string;
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push((await agent(`/v1/jobs/${id}`)).body.data);
    expect(seen.map((j) => j.status)).toEqual(["pending", "waiting_input", "failed"]);
    expect(seen[2].error).toEqual({ message: "no project", code: "E" });
    fake.evictAgentJob(id);
    const gone = await agent(`/v1/jobs/${id}`);
    expect(gone).toMatchObject({ status: 404, body: { error: { code: "JOB_NOT_FOUND", message: expect.any(String) } } });
    expect(fake.job(id)).toBeUndefined();

    const running = fake.addAgentJob({ steps: ["running"] });
    expect(running).toMatch(UUID);
    expect(() => fake.evictAgentJob(running)).toThrow(/not finished/);
    expect((await agent(`/v1/agent/jobs/${running}`)).body.data.status).toBe("running");
    const cancel = await agent(`/v1/agent/jobs/${running}/cancel`, { method: "POST" });
    expect(cancel).toMatchObject({ status: 200, body: { data: { id: running, status: "cancelled" } } });
    expect((await agent(`/v1/jobs/${running}`)).body.data.status).toBe("cancelled");
    expect((await agent(`/v1/agent/jobs/${running}/cancel`, { method: "POST" })).status).toBe(409);
    expect(fake.calls("POST", `/v1/agent/jobs/${running}/cancel`)).toHaveLength(2);

    fake.enqueueAgent(queueFull());
    const full = await agent("/v1/agent", { body: { prompt: "go" } });
    expect(full).toMatchObject({ status: 429, body: { error: { code: "QUEUE_FULL" } } });
    expect(full.headers.get("retry-after")).toBe("10");
    expect((await agent("/v1/agent", { body: { prompt: "go" } })).status).toBe(200);
  });
});

describe("demo Rendley simulator: the wider surface", () => {
  let sim: RendleySimulator;
  let clock = 1_000_000;
  const api = (path: string, init: { method?: string; body?: unknown; key?: string | null } = {}) =>
    http(sim.url, path, { key: sim.apiKey, ...init });
  const agent = (path: string, init: { method?: string; body?: unknown } = {}) =>
    http(sim.agentUrl, path, { key: sim.apiKey, ...init });

  beforeEach(async () => {
    sim = await startRendleySimulator({ now: () => clock });
  });
  afterEach(async () => {
    await sim.close();
  });

  it("starts editor jobs that are listed by default and move queued → processing → completed", async () => {
    const editor = sim.startEditorJob({ projectId: "prj_ed", type: "export_video" });
    const viaApi = sim.addJob({ type: "transcription", input: { project_id: "prj_ed" } });
    const list = async (q: string) => ((await api(`/v1/jobs${q}`)).body.data as Array<{ id: string }>).map((j) => j.id);
    expect(await list("")).toEqual([editor]);
    expect(await list("?source_type=api")).toEqual([viaApi]);
    expect(await list("?source_type=studio&project_id=prj_ed&job_type=export_video&source_id=prj_ed&acknowledged=false")).toEqual(
      [editor],
    );
    expect(await list("?acknowledged=true")).toEqual([]);
    expect((await api("/v1/jobs?acknowledged=1")).status).toBe(400);
    const status = async () => (await api(`/v1/jobs/${editor}`)).body.data.status;
    expect(await status()).toBe("queued");
    clock += 1_000;
    expect(await status()).toBe("processing");
    clock += 3_000;
    const done = (await api(`/v1/jobs/${editor}`)).body.data;
    expect(done).toMatchObject({ status: "completed", source_type: "studio", output: { url: expect.stringContaining("?sig=") } });
  });

  it("accepts cancelled outcomes and error objects, and starts and prices AI tools", async () => {
    const cancelled = sim.addJob({ type: "export_video", outcome: "cancelled", durationMs: 10 });
    const failed = sim.addJob({
      type: "export_video",
      outcome: "failed",
      durationMs: 10,
      error: { message: "boom", code: "E1" },
    });
    clock += 10;
    expect(sim.job(cancelled)!.status).toBe("cancelled");
    expect(sim.job(failed)!.error).toEqual({ message: "boom", code: "E1" });

    const started = await api("/v1/ai/text-to-speech", { body: { project_id: "prj_tts" } });
    const job = (await api(`/v1/jobs/${started.body.data.job_id}`)).body.data;
    expect(job).toMatchObject({ type: "text_to_speech", status: "queued", source_type: "api", project_id: "prj_tts" });
    expect((await api("/v1/ai/generate-video/cost", { body: { project_id: "p" } })).body).toEqual({ data: { credits: 40 } });
    expect((await api("/v1/ai/transcribe", { body: {} })).status).toBe(400);
    expect((await api("/v1/ai/unknown", { body: { project_id: "p" } })).status).toBe(404);
    expect((await api("/v1/jobs?source_type=api", { key: "wrong" })).status).toBe(401);
  });

  it("runs agent jobs on its agent URL: pending → running → completed, cancel, 404 across hosts", async () => {
    expect((await agent("/v1/agent", { body: {} })).status).toBe(400);
    const id = (await agent("/v1/agent", { body: { prompt: "Add captions" } })).body.data.job_id as string;
    expect(id).toMatch(UUID);
    expect((await agent(`/v1/jobs/${id}`)).body.data.status).toBe("pending");
    clock += 1_000;
    expect((await agent(`/v1/jobs/${id}`)).body.data.status).toBe("running");
    clock += 5_000;
    expect((await agent(`/v1/jobs/${id}`)).body.data.status).toBe("completed");
    expect((await api(`/v1/jobs/${id}`)).status).toBe(404);
    const other = (await agent("/v1/agent", { body: { prompt: "again" } })).body.data.job_id as string;
    expect((await agent(`/v1/agent/jobs/${other}/cancel`, { method: "POST" })).body.data.status).toBe("cancelled");
    expect((await agent(`/v1/jobs/${sim.addJob({ type: "export_video" })}`)).body.error.code).toBe("JOB_NOT_FOUND");
    expect(sim.requestCounts.get("agent POST /v1/agent")).toBe(3);
  });
});
