import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakeRendley, type FakeRendley } from "../../support/fake-rendley.js";
import { startReceiver, type Receiver } from "../../support/receiver.js";
import { waitFor } from "../../support/wait-for.js";

const newSecret = (): string => `whsec_${randomBytes(24).toString("base64")}`;

describe("fake Rendley", () => {
  let fake: FakeRendley;
  const call = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${fake.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${fake.apiKey}`, ...(init.headers as Record<string, string> | undefined) },
    });
  const poll = async (id: string): Promise<{ status: number; body: any }> => {
    const res = await call(`/v1/jobs/${id}`);
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, body };
  };

  beforeEach(async () => {
    fake = await startFakeRendley();
  });
  afterEach(async () => {
    await fake.close();
  });

  it("answers 401 without the right bearer key", async () => {
    const id = fake.addJob({ steps: ["queued"] });
    const missing = await fetch(`${fake.url}/v1/jobs/${id}`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as any).error.code).toBe("unauthorized");
    const wrong = await fetch(`${fake.url}/v1/jobs/${id}`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    await wrong.body?.cancel();
  });

  it("advances one step per poll and repeats the last step", async () => {
    const id = fake.addJob({ steps: ["queued", "processing", "completed"], input: { project_id: "prj_1" } });
    const statuses: string[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await poll(id)).body.data.status);
    expect(statuses).toEqual(["queued", "processing", "completed", "completed"]);
    expect(fake.polls(id)).toBe(4);
    expect(fake.pollTimes(id)).toHaveLength(4);

    const job = (await poll(id)).body.data;
    expect(job).toMatchObject({
      id,
      type: "export_video",
      error: null,
      acknowledged: false,
      source_type: "api",
      source_id: "prj_test",
    });
    expect(JSON.parse(job.input_data)).toEqual({ project_id: "prj_1" });
    const result = JSON.parse(job.result_data);
    expect(result.storage_url).toBe(`https://storage.rendley.com/exports/${id}.mp4`);
    expect(result.media_id).toMatch(/^med_/);
  });

  it("encodes step result_data and errors, with render_failed as the default failure", async () => {
    const done = fake.addJob({ type: "transcription", steps: [{ status: "completed", result_data: { text: "hi" } }] });
    const failed = fake.addJob({ steps: ["failed"] });
    const custom = fake.addJob({ steps: [{ status: "failed", error: "media_unreachable" }] });
    const queued = fake.addJob({ steps: ["queued"] });

    expect((await poll(done)).body.data).toMatchObject({ type: "transcription", result_data: '{"text":"hi"}', error: null });
    expect((await poll(failed)).body.data).toMatchObject({ status: "failed", result_data: null, error: "render_failed" });
    expect((await poll(custom)).body.data.error).toBe("media_unreachable");
    expect((await poll(queued)).body.data).toMatchObject({ status: "queued", result_data: null, error: null });
  });

  it("job() and setJob() inspect and replace the state without polling", async () => {
    const id = fake.addJob({ id: "job_fixed", steps: ["queued", "completed"] });
    expect(id).toBe("job_fixed");
    expect(fake.job(id)?.status).toBe("queued");
    expect(fake.job(id)?.status).toBe("queued");
    expect(fake.polls(id)).toBe(0);
    fake.setJob(id, { status: "failed", error: "out_of_credits" });
    expect((await poll(id)).body.data).toMatchObject({ status: "failed", error: "out_of_credits" });
    expect((await poll(id)).body.data.status).toBe("failed");
    expect(fake.job("job_missing")).toBeUndefined();
  });

  it("serves enqueued one-shots in order without advancing the script", async () => {
    const id = fake.addJob({ steps: ["queued", "completed"] });
    fake.enqueue(
      id,
      { status: 429, headers: { "retry-after": "1" } },
      { status: 500 },
      { status: 200, body: "<html>" },
      { status: 200, json: { data: { weird: true } } },
    );
    const res = await call(`/v1/jobs/${id}`);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(((await res.json()) as any).error.code).toBe("rate_limited");
    expect(await poll(id)).toMatchObject({ status: 500, body: { error: { code: "internal_error" } } });
    expect(await poll(id)).toEqual({ status: 200, body: "<html>" });
    expect(await poll(id)).toEqual({ status: 200, body: { data: { weird: true } } });
    expect((await poll(id)).body.data.status).toBe("queued");
    expect((await poll(id)).body.data.status).toBe("completed");
    expect(fake.polls(id)).toBe(6);
  });

  it("answers 404 not_found for unknown jobs", async () => {
    expect(await poll("job_unknown")).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
    expect(fake.polls("job_unknown")).toBe(1);
  });

  it("cancels queued/processing jobs, refuses finished ones, 404s unknown ones", async () => {
    const id = fake.addJob({ steps: ["queued", "processing", "completed"] });
    const del = await call(`/v1/jobs/${id}`, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(((await del.json()) as any).data.status).toBe("canceled");
    expect((await poll(id)).body.data.status).toBe("canceled");
    expect((await poll(id)).body.data.status).toBe("canceled");

    const again = await call(`/v1/jobs/${id}`, { method: "DELETE" });
    expect(again.status).toBe(409);
    expect(((await again.json()) as any).error.code).toBe("job_finished");

    const done = fake.addJob({ steps: ["completed"] });
    expect((await call(`/v1/jobs/${done}`, { method: "DELETE" })).status).toBe(409);
    const unknown = await call("/v1/jobs/job_nope", { method: "DELETE" });
    expect(unknown.status).toBe(404);
    await unknown.body?.cancel();
  });

  it("lists jobs with the reference filters (default source_type studio)", async () => {
    const a = fake.addJob({ steps: ["queued"] });
    const b = fake.addJob({ type: "transcription", steps: ["completed"] });
    const list = async (query: string): Promise<string[]> =>
      (((await (await call(`/v1/jobs${query}`)).json()) as any).data as Array<{ id: string }>).map((j) => j.id);
    expect(await list("")).toEqual([]);
    expect(await list("?source_type=api")).toEqual([b, a]); // newest first
    expect(await list("?source_type=api&job_type=transcription")).toEqual([b]);
    expect(await list("?source_type=api&project_id=prj_other")).toEqual([]);
    expect(fake.polls(a)).toBe(0);
  });

  it("POST /v1/export creates a pollable job; bad bodies get 400; cost answers credits", async () => {
    const body = { project_id: "prj_123", settings: { target_resolution: "1080p" } };
    const res = await call("/v1/export", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const jobId = ((await res.json()) as any).data.job_id as string;
    expect(jobId).toMatch(/^job_/);
    const seen = [(await poll(jobId)).body.data, (await poll(jobId)).body.data, (await poll(jobId)).body.data];
    expect(seen.map((j) => j.status)).toEqual(["queued", "processing", "completed"]);
    expect(JSON.parse(seen[0].input_data)).toEqual(body);
    expect(seen[0].source_id).toBe("prj_123");

    for (const bad of ["not json", "[1,2]", "null"]) {
      const r = await call("/v1/export", { method: "POST", body: bad });
      expect(r.status).toBe(400);
      expect(((await r.json()) as any).error.code).toBe("bad_request");
    }
    const cost = await call("/v1/export/cost", { method: "POST", body: JSON.stringify(body) });
    expect(await cost.json()).toEqual({ data: { credits: 10 } });
  });

  it("records requests and applies an override to everything until cleared", async () => {
    const id = fake.addJob({ steps: ["queued"] });
    fake.setOverride({ status: 401, json: { error: { code: "unauthorized", message: "revoked" } } });
    expect(await poll(id)).toMatchObject({ status: 401, body: { error: { message: "revoked" } } });
    expect((await call("/v1/export/cost", { method: "POST" })).status).toBe(401);
    fake.setOverride(null);
    expect((await poll(id)).body.data.status).toBe("queued");

    await call("/v1/jobs?source_type=api&job_type=x");
    const last = fake.requests.at(-1)!;
    expect(last).toMatchObject({ method: "GET", path: "/v1/jobs", query: { source_type: "api", job_type: "x" }, body: "" });
    expect(last.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(fake.requests).toHaveLength(4);
  });

  it("stalls delayed responses and close() releases them promptly", async () => {
    const id = fake.addJob({ steps: ["queued"] });
    fake.enqueue(id, { status: 200, json: { data: { slow: true } }, delayMs: 150 });
    const started = Date.now();
    expect((await poll(id)).body.data.slow).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    fake.enqueue(id, { status: 200, delayMs: 60_000 });
    const pending = call(`/v1/jobs/${id}`).then(
      () => "answered",
      () => "failed",
    );
    await waitFor(() => fake.polls(id) === 2);
    const closing = Date.now();
    await fake.close();
    expect(Date.now() - closing).toBeLessThan(1_000);
    expect(await pending).toBe("failed");
    fake = await startFakeRendley(); // afterEach closes it
  });
});

describe("callback receiver", () => {
  let secret: string;
  let receiver: Receiver;
  const post = (body: string, headers: Record<string, string>, path?: string): Promise<Response> =>
    fetch(receiver.url(path), { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  const signed = (id: string, body: string, key = secret): Record<string, string> => {
    const now = new Date();
    return {
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
      "webhook-signature": new Webhook(key).sign(id, now, body),
    };
  };

  beforeEach(async () => {
    secret = newSecret();
    receiver = await startReceiver({ secrets: [secret] });
  });
  afterEach(async () => {
    await receiver.close();
  });

  it("verifies a correctly signed callback and flags a wrongly signed or unsigned one", async () => {
    const body = JSON.stringify({ type: "job.completed", data: { job_id: "job_1" } });
    const res = await post(body, signed("msg_1", body), "/cb/one");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
    await post(body, signed("msg_2", body, newSecret()));
    await post("not json", {});

    const [good, bad, unsigned] = receiver.received;
    expect(good).toMatchObject({ path: "/cb/one", verified: true, webhookId: "msg_1", rawBody: body, status: 200 });
    expect(good!.body.data.job_id).toBe("job_1");
    expect(bad).toMatchObject({ verified: false, webhookId: "msg_2" });
    expect(bad!.verifyError).toMatch(/signature/i);
    expect(unsigned).toMatchObject({ verified: false, body: undefined, webhookId: undefined });
    expect(receiver.byWebhookId("msg_2")).toHaveLength(1);
  });

  it("accepts any current secret after setSecrets", async () => {
    const next = newSecret();
    receiver.setSecrets(secret, next);
    await post("{}", signed("msg_a", "{}", next));
    await post("{}", signed("msg_b", "{}", secret));
    receiver.setSecrets(next);
    await post("{}", signed("msg_c", "{}", secret));
    expect(receiver.received.map((r) => r.verified)).toEqual([true, true, false]);
  });

  it("answers per responder and counts only 2xx-acknowledged ids", async () => {
    receiver.respond((req, index) => (index === 0 ? { status: 503, body: "busy", headers: { "retry-after": "2" } } : undefined));
    const first = await post("{}", signed("msg_x", "{}"));
    expect(first.status).toBe(503);
    expect(first.headers.get("retry-after")).toBe("2");
    expect(await first.text()).toBe("busy");
    expect(receiver.acknowledgedIds().size).toBe(0);
    await (await post("{}", signed("msg_x", "{}"))).text();
    receiver.respond({ status: 410 });
    await (await post("{}", signed("msg_y", "{}"))).text();
    expect(receiver.received.map((r) => r.status)).toEqual([503, 200, 410]);
    expect([...receiver.acknowledgedIds()]).toEqual(["msg_x"]);
  });

  it("records stalled requests with status 0, resets sockets on destroy", async () => {
    receiver.respond({ delayMs: 200 });
    const slow = post("{}", signed("msg_slow", "{}"));
    await waitFor(() => receiver.received.length === 1);
    expect(receiver.received[0]!.status).toBe(0);
    expect((await slow).status).toBe(200);
    expect(receiver.received[0]!.status).toBe(200);

    receiver.respond(() => ({ destroy: true }));
    await expect(post("{}", signed("msg_rst", "{}"))).rejects.toThrow();
    expect(receiver.byWebhookId("msg_rst")[0]!.status).toBe(0);
  });

  it("close() releases a stalled request promptly", async () => {
    receiver.respond({ delayMs: 60_000 });
    const pending = post("{}", {}).then(
      () => "answered",
      () => "failed",
    );
    await waitFor(() => receiver.received.length === 1);
    const started = Date.now();
    await receiver.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await pending).toBe("failed");
    receiver = await startReceiver({ secrets: [secret] }); // afterEach closes it
  });
});

describe("waitFor", () => {
  it("resolves with the first truthy value, retrying through throws", async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        calls++;
        if (calls < 2) throw new Error("not yet");
        return calls >= 3 ? { calls } : null;
      },
      { intervalMs: 5 },
    );
    expect(value).toEqual({ calls: 3 });
  });

  it("times out with the message and the last error or value", async () => {
    await expect(waitFor(() => 0, { timeoutMs: 60, message: "callback never came" })).rejects.toThrow(
      /callback never came.*timed out after 60 ms.*last value: 0/,
    );
    await expect(
      waitFor(
        () => {
          throw new Error("boom");
        },
        { timeoutMs: 40 },
      ),
    ).rejects.toThrow(/last error: boom/);
  });
});
