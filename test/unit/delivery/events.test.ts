import { describe, expect, it } from "vitest";
import {
  DEFAULT_EVENTS,
  JOB_EVENTS,
  TERMINAL_EVENTS,
  buildEventBody,
  eventForStatus,
  eventRank,
  type EventType,
} from "../../../src/delivery/events.js";
import { JOB_STATUSES, type JobStatus, type UpstreamJob } from "../../../src/upstream/job.js";

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
      '{"type":"watch.expired","timestamp":"2026-01-02T03:04:05.678Z","data":{"watch_id":"wch_7","job_id":"job_gone","status":null,"job":null,"result":null,"error":null,"metadata":null,"reason":"job_not_found"}}',
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
      status: "processing",
      job,
      result: null,
      error: null,
      metadata: { a: 1 },
      reason: "job_not_found",
    });
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
