import { describe, expect, it } from "vitest";
import {
  DEFAULT_EVENTS,
  JOB_EVENTS,
  MAX_EVENT_BODY_BYTES,
  TERMINAL_EVENTS,
  buildEventBody,
  eventBodies,
  eventForStatus,
  eventRank,
  rebuildEventBody,
  type EventBody,
  type EventType,
} from "../../../src/domain/events.js";
import { JOB_STATUSES, type JobStatus, type UpstreamJob } from "../../../src/domain/job.js";

const OBSERVED = new Date("2026-01-02T03:04:05.678Z");

describe("buildEventBody", () => {
  it("a completed job: exact JSON, result parsed, job verbatim (input_data still a string)", () => {
    const job: UpstreamJob = {
      id: "job_42",
      status: "completed",
      input_data: '{"template":"intro","vars":{"name":"Ada"}}',
      result_data: '{"url":"https://cdn.example/v.mp4","duration":12.5}',
      error: null,
      created_at: "2026-01-02T03:00:00Z",
      progress: 100,
    };
    const body = buildEventBody({
      type: "job.completed",
      observedAt: OBSERVED,
      watchId: "wch_1",
      jobId: "job_42",
      job,
      metadata: { order_id: "ord_42" },
    });
    expect(body).toBe(
      "{" +
        '"type":"job.completed",' +
        '"timestamp":"2026-01-02T03:04:05.678Z",' +
        '"data":{' +
        '"watch_id":"wch_1",' +
        '"job_id":"job_42",' +
        '"service":"api",' +
        '"status":"completed",' +
        '"job":{"id":"job_42","status":"completed","input_data":"{\\"template\\":\\"intro\\",\\"vars\\":{\\"name\\":\\"Ada\\"}}","result_data":"{\\"url\\":\\"https://cdn.example/v.mp4\\",\\"duration\\":12.5}","error":null,"created_at":"2026-01-02T03:00:00Z","progress":100},' +
        '"result":{"url":"https://cdn.example/v.mp4","duration":12.5},' +
        '"error":null,' +
        '"metadata":{"order_id":"ord_42"}' +
        "}}",
    );
    const parsed = JSON.parse(body);
    expect(typeof parsed.data.job.input_data).toBe("string");
    expect(typeof parsed.data.job.result_data).toBe("string");
    expect("reason" in parsed.data).toBe(false);
  });

  it.each<[string, UpstreamJob, unknown]>([
    ["not JSON", { id: "j", status: "completed", result_data: "{not json" }, null],
    ["empty string", { id: "j", status: "completed", result_data: "" }, null],
    ["null", { id: "j", status: "completed", result_data: null }, null],
    ["absent", { id: "j", status: "completed" }, null],
    ["a JSON string", { id: "j", status: "completed", result_data: '"done"' }, "done"],
    ["a JSON array", { id: "j", status: "completed", result_data: "[1,2]" }, [1, 2]],
  ])("result_data %s → result %j", (_label, job, result) => {
    const parsed = JSON.parse(
      buildEventBody({ type: "job.completed", observedAt: OBSERVED, watchId: "w", jobId: "j", job, metadata: null }),
    );
    expect(parsed.data.result).toEqual(result);
    expect(parsed.data.job).toEqual(job); // kept verbatim even when unreadable
  });

  it("a failed job carries its error", () => {
    const job: UpstreamJob = { id: "job_9", status: "failed", error: "render crashed", result_data: null };
    const parsed = JSON.parse(
      buildEventBody({ type: "job.failed", observedAt: OBSERVED, watchId: "w", jobId: "job_9", job, metadata: null }),
    );
    expect(parsed.data).toEqual({
      watch_id: "w",
      job_id: "job_9",
      service: "api",
      status: "failed",
      job,
      result: null,
      error: "render crashed",
      metadata: null,
    });
  });

  it("watch.expired: job null, reason set, exact JSON", () => {
    const body = buildEventBody({
      type: "watch.expired",
      observedAt: OBSERVED,
      watchId: "wch_7",
      jobId: "job_gone",
      job: null,
      metadata: null,
      reason: "job_not_found",
    });
    expect(body).toBe(
      '{"type":"watch.expired","timestamp":"2026-01-02T03:04:05.678Z","data":{"watch_id":"wch_7","job_id":"job_gone","service":"api","status":null,"job":null,"result":null,"error":null,"metadata":null,"reason":"job_not_found"}}',
    );
  });

  it("watch.expired keeps the last job seen when there is one", () => {
    const job: UpstreamJob = { id: "j", status: "processing" };
    const parsed = JSON.parse(
      buildEventBody({
        type: "watch.expired",
        observedAt: OBSERVED,
        watchId: "w",
        jobId: "j",
        job,
        metadata: { a: 1 },
        reason: "job_not_found",
      }),
    );
    expect(parsed.data).toEqual({
      watch_id: "w",
      job_id: "j",
      service: "api",
      status: "processing",
      job,
      result: null,
      error: null,
      metadata: { a: 1 },
      reason: "job_not_found",
    });
  });
});

describe("buildEventBody: size cap", () => {
  const KIB = 1024;
  const bigJob = (inputBytes: number, extra: Partial<UpstreamJob> = {}): UpstreamJob => ({
    id: "job_big",
    status: "completed",
    input_data: JSON.stringify({ blob: "x".repeat(inputBytes) }),
    result_data: '{"url":"https://cdn.example/v.mp4"}',
    error: null,
    created_at: "2026-01-02T03:00:00Z",
    ...extra,
  });
  const build = (
    job: UpstreamJob | null,
    extra: { type?: EventType; reason?: string; metadata?: Record<string, unknown> } = {},
  ) =>
    buildEventBody({
      type: extra.type ?? "job.completed",
      observedAt: OBSERVED,
      watchId: "wch_1",
      jobId: job?.id ?? "job_x",
      job,
      metadata: extra.metadata ?? { order_id: "ord_1" },
      ...(extra.reason ? { reason: extra.reason } : {}),
    });

  it("the cap is 256 KiB", () => {
    expect(MAX_EVENT_BODY_BYTES).toBe(256 * KIB);
  });

  it("a job with a 300 KiB input_data: input_data null, truncated true, the rest kept, body under 256 KiB", () => {
    const job = bigJob(300 * KIB);
    const body = build(job);
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_EVENT_BODY_BYTES);
    const parsed = JSON.parse(body) as EventBody;
    expect(parsed).toStrictEqual({
      type: "job.completed",
      timestamp: "2026-01-02T03:04:05.678Z",
      data: {
        watch_id: "wch_1",
        job_id: "job_big",
        service: "api",
        status: "completed",
        job: { ...job, input_data: null },
        result: { url: "https://cdn.example/v.mp4" },
        error: null,
        metadata: { order_id: "ord_1" },
        truncated: true,
      },
    });
    expect(body.endsWith(',"truncated":true}}')).toBe(true);
  });

  it("a small job: no truncated key, input_data kept", () => {
    const job = bigJob(10);
    const parsed = JSON.parse(build(job));
    expect("truncated" in parsed.data).toBe(false);
    expect(parsed.data.job.input_data).toBe(job.input_data);
  });

  it("counts bytes, not characters: 150 Ki two-byte characters are over the cap", () => {
    const job: UpstreamJob = { id: "j", status: "completed", input_data: "é".repeat(150 * KIB) };
    expect(job.input_data as string).toHaveLength(150 * KIB); // under the cap in characters
    const parsed = JSON.parse(build(job));
    expect(parsed.data.truncated).toBe(true);
    expect(parsed.data.job.input_data).toBeNull();
  });

  it("a body of exactly MAX_EVENT_BODY_BYTES is kept whole; one byte more is truncated", () => {
    const emptyInput = Buffer.byteLength(build({ id: "j", status: "completed", input_data: "" }));
    const exact: UpstreamJob = { id: "j", status: "completed", input_data: "x".repeat(MAX_EVENT_BODY_BYTES - emptyInput) };
    const kept = build(exact);
    expect(Buffer.byteLength(kept)).toBe(MAX_EVENT_BODY_BYTES);
    expect("truncated" in JSON.parse(kept).data).toBe(false);
    const over = build({ ...exact, input_data: `${exact.input_data as string}x` });
    expect(JSON.parse(over).data).toMatchObject({ truncated: true, job: { input_data: null } });
  });

  it("watch.expired keeps its reason when truncated", () => {
    const job = bigJob(300 * KIB, { status: "processing" });
    const parsed = JSON.parse(build(job, { type: "watch.expired", reason: "watch_expired" }));
    expect(parsed.type).toBe("watch.expired");
    expect(parsed.data).toMatchObject({
      reason: "watch_expired",
      truncated: true,
      status: "processing",
      job: { input_data: null },
    });
  });

  it("only input_data is dropped: a big body without input_data stays as it is, without truncated", () => {
    const job: UpstreamJob = {
      id: "j",
      status: "completed",
      input_data: null,
      result_data: JSON.stringify({ r: "y".repeat(300 * KIB) }),
    };
    const body = build(job);
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_EVENT_BODY_BYTES);
    expect("truncated" in JSON.parse(body).data).toBe(false);
  });

  it("no job (watch.expired of an unknown job): never truncated", () => {
    const parsed = JSON.parse(build(null, { type: "watch.expired", reason: "job_not_found", metadata: { m: "z".repeat(10) } }));
    expect(parsed.data.job).toBeNull();
    expect("truncated" in parsed.data).toBe(false);
  });
});

describe("eventBodies: one event of a job, a body per watch", () => {
  const job: UpstreamJob = {
    id: "job_7",
    status: "cancelled",
    input_data: '{"p":"é☃"}',
    result_data: '{"url":"u"}',
    error: { message: "stopped", code: "x" },
    extra: [1, null, { deep: true }],
  };
  const event = { type: "job.canceled" as const, observedAt: OBSERVED, jobId: "job_7", service: "agent" as const, job };
  const watches = [
    { watchId: "wch_a", metadata: { order: 1, ü: "v" } },
    { watchId: "wch_b", subscriptionId: "sub_1", metadata: null },
    { watchId: "wch_c", subscriptionId: null, metadata: { nested: { list: [1, 2] } } },
  ];

  it("each body is byte for byte JSON.stringify of the whole event body (what buildEventBody made per watch before)", () => {
    const bodies = eventBodies(event);
    for (const w of watches) {
      const expected: EventBody = {
        type: "job.canceled",
        timestamp: OBSERVED.toISOString(),
        data: {
          watch_id: w.watchId,
          job_id: "job_7",
          service: "agent",
          ...(w.subscriptionId ? { subscription_id: w.subscriptionId } : {}),
          status: "canceled",
          job,
          result: { url: "u" },
          error: "stopped",
          metadata: w.metadata,
        },
      };
      expect(bodies(w)).toBe(JSON.stringify(expected));
      expect(bodies(w)).toBe(buildEventBody({ ...event, ...w }));
    }
  });

  it("the job's part is the same text in every body; only the watch's fields differ", () => {
    const bodies = eventBodies({ ...event, reason: "r" });
    const strip = (body: string) => {
      const parsed = JSON.parse(body) as EventBody;
      const { watch_id: _w, subscription_id: _s, metadata: _m, ...common } = parsed.data;
      return JSON.stringify({ ...parsed, data: common });
    };
    expect(new Set(watches.map((w) => strip(bodies(w)))).size).toBe(1);
  });

  it("truncates per watch: the watch whose own metadata takes its body over the cap loses input_data, the others keep it", () => {
    const bodies = eventBodies(event);
    const room = MAX_EVENT_BODY_BYTES - Buffer.byteLength(bodies({ watchId: "wch_b", subscriptionId: "sub_1", metadata: null }));
    // {"m":"<n × x>"} instead of null: n + 4 more bytes.
    const meta = (n: number) => ({ watchId: "wch_b", subscriptionId: "sub_1", metadata: { m: "x".repeat(n) } });
    const exact = bodies(meta(room - 4));
    expect(Buffer.byteLength(exact)).toBe(MAX_EVENT_BODY_BYTES);
    expect(JSON.parse(exact).data.job.input_data).toBe(job.input_data);
    const over = meta(room - 3);
    expect(JSON.parse(bodies(over)).data).toMatchObject({ truncated: true, job: { input_data: null }, metadata: over.metadata });
    expect(bodies(over)).toBe(buildEventBody({ ...event, ...over }));
    expect(JSON.parse(bodies(watches[0]!)).data.job.input_data).toBe(job.input_data); // the same event, another watch
  });
});

describe("rebuildEventBody", () => {
  const oldJob: UpstreamJob = {
    id: "job_42",
    status: "completed",
    result_data: '{"url":"https://cdn.example/v.mp4?sig=old"}',
    error: null,
  };
  const freshJob: UpstreamJob = {
    id: "job_42",
    status: "completed",
    result_data: '{"url":"https://cdn.example/v.mp4?sig=fresh"}',
    error: null,
    progress: 100,
  };
  const original = (
    type: EventType = "job.completed",
    extra: { reason?: string; metadata?: Record<string, unknown> | null } = {},
  ) =>
    buildEventBody({
      type,
      observedAt: OBSERVED,
      watchId: "wch_1",
      jobId: "job_42",
      job: oldJob,
      metadata: extra.metadata === undefined ? { order_id: "ord_42" } : extra.metadata,
      ...(extra.reason ? { reason: extra.reason } : {}),
    });

  it("rebuilds around the fresh job, keeping type, timestamp, watch and metadata (exactly buildEventBody's output)", () => {
    const rebuilt = rebuildEventBody(original(), freshJob);
    expect(rebuilt).toBe(
      buildEventBody({
        type: "job.completed",
        observedAt: OBSERVED,
        watchId: "wch_1",
        jobId: "job_42",
        job: freshJob,
        metadata: { order_id: "ord_42" },
      }),
    );
    const parsed = JSON.parse(rebuilt!);
    expect(parsed.timestamp).toBe("2026-01-02T03:04:05.678Z");
    expect(parsed.data.result).toEqual({ url: "https://cdn.example/v.mp4?sig=fresh" });
    expect(parsed.data.job).toEqual(freshJob);
  });

  it("keeps the event type even when the fresh job has moved on (job.processing stays job.processing)", () => {
    const processing = buildEventBody({
      type: "job.processing",
      observedAt: OBSERVED,
      watchId: "wch_1",
      jobId: "job_42",
      job: { id: "job_42", status: "processing" },
      metadata: null,
    });
    const parsed = JSON.parse(rebuildEventBody(processing, freshJob)!);
    expect(parsed.type).toBe("job.processing");
    expect(parsed.data).toMatchObject({ status: "completed", metadata: null, job: freshJob });
  });

  it("keeps the reason of a watch.expired", () => {
    const parsed = JSON.parse(rebuildEventBody(original("watch.expired", { reason: "watch_expired" }), freshJob)!);
    expect(parsed.type).toBe("watch.expired");
    expect(parsed.data.reason).toBe("watch_expired");
  });

  it("a watch.expired built without a job gets the fresh job", () => {
    const body = buildEventBody({
      type: "watch.expired",
      observedAt: OBSERVED,
      watchId: "wch_7",
      jobId: "job_42",
      job: null,
      metadata: null,
      reason: "job_not_found",
    });
    const parsed = JSON.parse(rebuildEventBody(body, freshJob)!);
    expect(parsed.data).toMatchObject({ watch_id: "wch_7", job_id: "job_42", job: freshJob, reason: "job_not_found" });
  });

  it("null metadata stays null", () => {
    expect(JSON.parse(rebuildEventBody(original("job.completed", { metadata: null }), freshJob)!).data.metadata).toBeNull();
  });

  it("a fresh job too big for the cap is truncated; a truncated body rebuilt with a small job is not", () => {
    const big: UpstreamJob = { ...freshJob, input_data: "x".repeat(300 * 1024) };
    const truncated = rebuildEventBody(original(), big)!;
    expect(JSON.parse(truncated).data).toMatchObject({ truncated: true, job: { input_data: null } });
    const again = JSON.parse(rebuildEventBody(truncated, freshJob)!);
    expect("truncated" in again.data).toBe(false);
    expect(again.data.job).toEqual(freshJob);
  });

  it("is idempotent: rebuilding a rebuilt body with the same job changes nothing", () => {
    const once = rebuildEventBody(original(), freshJob)!;
    expect(rebuildEventBody(once, freshJob)).toBe(once);
  });

  it.each<[string, string]>([
    ["not JSON", "{not json"],
    ["empty", ""],
    ["null", "null"],
    ["a number", "42"],
    ["a string", '"job.completed"'],
    ["an array", "[]"],
    ["an empty object", "{}"],
    ["no data", '{"type":"job.completed","timestamp":"2026-01-02T03:04:05.678Z"}'],
    ["data null", '{"type":"job.completed","timestamp":"2026-01-02T03:04:05.678Z","data":null}'],
    ["no job_id", '{"type":"job.completed","timestamp":"2026-01-02T03:04:05.678Z","data":{"watch_id":"w"}}'],
    ["no watch_id", '{"type":"job.completed","timestamp":"2026-01-02T03:04:05.678Z","data":{"job_id":"j"}}'],
    ["empty ids", '{"type":"job.completed","timestamp":"2026-01-02T03:04:05.678Z","data":{"watch_id":"","job_id":""}}'],
  ])("a body that is not an event (%s) → undefined", (_label, body) => {
    expect(rebuildEventBody(body, freshJob)).toBeUndefined();
  });

  it("a body with ids but no timestamp is not an event → undefined, not a thrown RangeError", () => {
    // The guard only checks data.watch_id/job_id; `new Date(undefined).toISOString()` then throws "Invalid time value".
    expect(() => rebuildEventBody('{"data":{"watch_id":"w","job_id":"j"}}', freshJob)).not.toThrow();
    expect(rebuildEventBody('{"data":{"watch_id":"w","job_id":"j"}}', freshJob)).toBeUndefined();
  });
});

describe("eventForStatus", () => {
  it.each<[JobStatus, string | undefined]>([
    ["queued", undefined],
    ["processing", "job.processing"],
    ["completed", "job.completed"],
    ["failed", "job.failed"],
    ["canceled", "job.canceled"],
  ])("%s → %s", (status, event) => {
    expect(eventForStatus(status)).toBe(event);
  });

  it("covers every job status, and every job event comes from one", () => {
    const events = JOB_STATUSES.map(eventForStatus).filter((e) => e !== undefined);
    expect([...events].sort()).toEqual([...JOB_EVENTS].sort());
  });
});

describe("eventRank", () => {
  it.each<[EventType, number]>([
    ["job.processing", 0],
    ["job.completed", 1],
    ["job.failed", 1],
    ["job.canceled", 1],
    ["watch.expired", 1],
  ])("%s → %i", (type, rank) => {
    expect(eventRank(type)).toBe(rank);
  });
});

describe("event sets", () => {
  it("default subscription and terminal events are the three outcomes", () => {
    expect(DEFAULT_EVENTS).toEqual(["job.completed", "job.failed", "job.canceled"]);
    expect([...TERMINAL_EVENTS].sort()).toEqual(["job.canceled", "job.completed", "job.failed"]);
  });
});

describe("buildEventBody: answers as Rendley sends them", () => {
  const observedAt = new Date("2026-01-02T03:04:05.678Z");
  const body = (job: UpstreamJob, extra: Partial<Parameters<typeof buildEventBody>[0]> = {}) =>
    JSON.parse(
      buildEventBody({ type: "job.canceled", observedAt, watchId: "wch_1", jobId: job.id, job, metadata: null, ...extra }),
    ) as EventBody;

  it("cancelled: data.status is canceled, data.job exactly as received", () => {
    const job = { id: "job_1", status: "cancelled", extra_field: { kept: true } };
    const { data } = body(job);
    expect(data.status).toBe("canceled");
    expect(data.job).toEqual(job);
  });

  it("an error object: data.error is its message, data.job.error stays the object", () => {
    const job = { id: "job_1", status: "failed", error: { message: "GPU out of memory", code: "OOM" } };
    const { data } = body(job, { type: "job.failed" });
    expect(data.error).toBe("GPU out of memory");
    expect(data.job?.error).toEqual({ message: "GPU out of memory", code: "OOM" });
  });

  it("an error object without a message: its code; a string error: itself", () => {
    expect(body({ id: "j", status: "failed", error: { code: "E42" } }).data.error).toBe("E42");
    expect(body({ id: "j", status: "failed", error: "render_failed" }).data.error).toBe("render_failed");
  });

  it("an agent job: data.service agent, its running status spelt processing, subscription_id when discovered", () => {
    const job = { id: "0d1c…", status: "running" };
    const { data } = body(job, { type: "job.processing", service: "agent", subscriptionId: "sub_1" });
    expect(data).toMatchObject({ service: "agent", status: "processing", subscription_id: "sub_1", job });
  });

  it("rebuildEventBody keeps the service and the subscription", () => {
    const first = buildEventBody({
      type: "job.completed",
      observedAt,
      watchId: "w",
      jobId: "a1",
      service: "agent",
      subscriptionId: "sub_9",
      job: { id: "a1", status: "completed" },
      metadata: null,
    });
    const again = JSON.parse(rebuildEventBody(first, { id: "a1", status: "completed", fresh: 1 })!) as EventBody;
    expect(again.data).toMatchObject({ service: "agent", subscription_id: "sub_9", job: { fresh: 1 } });
  });
});
