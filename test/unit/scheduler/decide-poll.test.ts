import { describe, expect, it } from "vitest";
import type { ClaimedPoll } from "../../../src/db/queries/claim-due-polls.js";
import type { Random } from "../../../src/lib/random.js";
import type { CadenceOptions } from "../../../src/scheduler/cadence.js";
import {
  NOT_FOUND_LIMIT,
  decidePoll,
  releasePoll,
  type DecideContext,
  type PollAck,
} from "../../../src/scheduler/decide-poll.js";
import type { JobFetchResult } from "../../../src/upstream/client.js";
import type { UpstreamJob } from "../../../src/upstream/job.js";

const NOW = new Date("2026-01-01T00:00:00.000Z");
const cadence: CadenceOptions = { minIntervalMs: 1_000, maxIntervalMs: 10_000 };
/** float 0.5 → no jitter, so nextPollAt = now + intervalMs exactly. */
const noJitter: Random = { float: () => 0.5, bytes: (n) => Buffer.alloc(n) };
const ctx: DecideContext = { now: NOW, cadence, random: noJitter };
const at = (ms: number) => new Date(NOW.getTime() + ms);

function claimed(overrides: Partial<ClaimedPoll> = {}): ClaimedPoll {
  return {
    id: "pol_1",
    tenantId: "ten_1",
    jobId: "job_1",
    claimSeq: 7,
    intervalMs: 2_000,
    emittedStatus: "queued",
    notFoundCount: 0,
    errorCount: 0,
    ...overrides,
  };
}

const job = (status: UpstreamJob["status"], extra: Record<string, unknown> = {}): UpstreamJob => ({
  id: "job_1",
  status,
  ...extra,
});

const base = { id: "pol_1", tenantId: "ten_1", jobId: "job_1", claimSeq: 7, polled: 1, observedAt: NOW } as const;

describe("NOT_FOUND_LIMIT", () => {
  it("is 3", () => {
    expect(NOT_FOUND_LIMIT).toBe(3);
  });
});

describe("decidePoll", () => {
  describe("ok", () => {
    // [status whose event was last emitted, fetched status, poll status, event]
    it.each<[string | null, UpstreamJob["status"], PollAck["status"], PollAck["event"]]>([
      [null, "queued", "active", undefined], // queued never produces an event
      ["queued", "queued", "active", undefined],
      ["queued", "processing", "active", { type: "job.processing" }],
      [null, "processing", "active", { type: "job.processing" }],
      ["processing", "processing", "active", undefined],
      ["processing", "completed", "done", { type: "job.completed" }],
      ["queued", "completed", "done", { type: "job.completed" }],
      ["processing", "failed", "done", { type: "job.failed" }],
      ["queued", "canceled", "done", { type: "job.canceled" }],
      [null, "completed", "done", { type: "job.completed" }], // watch on an already finished job still gets its event
      ["processing", "queued", "active", undefined], // back to queued: no event
      ["completed", "completed", "done", undefined], // already emitted: done, no second event
    ])("emitted %s, fetched %s → %s", (stored, fetched, status, event) => {
      const fetchedJob = job(fetched, { result_data: null, extra_field: 1 });
      const ack = decidePoll(claimed({ emittedStatus: stored }), { kind: "ok", job: fetchedJob }, ctx);
      expect(ack).toStrictEqual({
        ...base,
        status,
        nextPollAt: at(2_000),
        intervalMs: 3_000,
        job: fetchedJob,
        notFoundCount: 0,
        errorCount: 0,
        lastError: null,
        ...(event ? { event } : {}),
      });
      expect(ack.job).toBe(fetchedJob); // verbatim
    });

    it("resets notFoundCount, errorCount and lastError", () => {
      const ack = decidePoll(claimed({ notFoundCount: 2, errorCount: 9 }), { kind: "ok", job: job("processing") }, ctx);
      expect(ack.notFoundCount).toBe(0);
      expect(ack.errorCount).toBe(0);
      expect(ack.lastError).toBeNull();
    });

    it("applies jitter to the next poll and grows the interval ×1.5, capped", () => {
      const low: DecideContext = { ...ctx, random: { float: () => 0, bytes: (n) => Buffer.alloc(n) } };
      expect(decidePoll(claimed({ intervalMs: 5_000 }), { kind: "ok", job: job("queued") }, low)).toMatchObject({
        nextPollAt: at(4_500),
        intervalMs: 7_500,
      });
      expect(decidePoll(claimed({ intervalMs: 10_000 }), { kind: "ok", job: job("queued") }, ctx)).toMatchObject({
        nextPollAt: at(10_000),
        intervalMs: 10_000,
      });
    });
  });

  describe("not_found", () => {
    it.each<[number, number, PollAck["status"]]>([
      [0, 1, "active"],
      [1, 2, "active"],
      [2, 3, "expired"],
    ])("notFoundCount %i → %i (%s)", (before, after, status) => {
      const ack = decidePoll(claimed({ notFoundCount: before, errorCount: 4 }), { kind: "not_found" }, ctx);
      expect(ack).toStrictEqual({
        ...base,
        status,
        nextPollAt: at(2_000),
        intervalMs: 3_000,
        notFoundCount: after,
        errorCount: 4, // unchanged
        lastError: "upstream_not_found",
        ...(status === "expired" ? { event: { type: "watch.expired", reason: "job_not_found" } } : {}),
      });
      expect("job" in ack).toBe(false); // keeps the stored job
    });

    it("expires after exactly NOT_FOUND_LIMIT 404s in a row", () => {
      let poll = claimed();
      const statuses: string[] = [];
      for (let i = 0; i < NOT_FOUND_LIMIT; i++) {
        const ack = decidePoll(poll, { kind: "not_found" }, ctx);
        statuses.push(ack.status);
        poll = { ...poll, notFoundCount: ack.notFoundCount, intervalMs: ack.intervalMs };
      }
      expect(statuses).toEqual(["active", "active", "expired"]);
    });

    it("an ok in between resets the count, so the streak starts over", () => {
      const afterTwo = claimed({ notFoundCount: 2 });
      const ok = decidePoll(afterTwo, { kind: "ok", job: job("queued") }, ctx);
      expect(ok.notFoundCount).toBe(0);
      const next = decidePoll({ ...afterTwo, notFoundCount: ok.notFoundCount }, { kind: "not_found" }, ctx);
      expect(next.status).toBe("active");
      expect(next.notFoundCount).toBe(1);
    });
  });

  describe("rate_limited", () => {
    // [interval, retryAfterMs, expected wait]
    it.each<[number, number | undefined, number]>([
      [2_000, 30_000, 30_000], // Retry-After longer than the interval wins
      [2_000, 2_001, 2_001],
      [2_000, 1_999, 2_000], // the interval wins when longer
      [2_000, 0, 2_000],
      [2_000, undefined, 2_000],
      [10_000, 60_000, 60_000], // may exceed the max interval: the server asked
    ])("interval %i, retryAfterMs %s → waits %i", (interval, retryAfterMs, waitMs) => {
      const ack = decidePoll(
        claimed({ intervalMs: interval, notFoundCount: 1, errorCount: 2 }),
        { kind: "rate_limited", retryAfterMs },
        ctx,
      );
      expect(ack).toStrictEqual({
        ...base,
        status: "active",
        nextPollAt: at(waitMs),
        intervalMs: Math.min(10_000, interval * 1.5),
        notFoundCount: 1,
        errorCount: 3,
        lastError: "upstream_rate_limited",
      });
    });

    it("compares Retry-After with the jittered delay", () => {
      const high: DecideContext = { ...ctx, random: { float: () => 0.999999, bytes: (n) => Buffer.alloc(n) } };
      expect(decidePoll(claimed({ intervalMs: 2_000 }), { kind: "rate_limited", retryAfterMs: 2_100 }, high).nextPollAt).toEqual(
        at(2_200),
      );
    });
  });

  describe("unauthorized", () => {
    it.each([401, 403] as const)("%i → max interval, counted as an error, never expires", (statusCode) => {
      const ack = decidePoll(
        claimed({ intervalMs: 1_000, notFoundCount: 2, errorCount: 5 }),
        { kind: "unauthorized", statusCode },
        ctx,
      );
      expect(ack).toStrictEqual({
        ...base,
        status: "active",
        nextPollAt: at(10_000),
        intervalMs: 10_000,
        notFoundCount: 2,
        errorCount: 6,
        lastError: `upstream_unauthorized_${statusCode}`,
      });
    });

    it("stays active however many times it repeats", () => {
      let poll = claimed();
      for (let i = 0; i < 50; i++) {
        const ack = decidePoll(poll, { kind: "unauthorized", statusCode: 401 }, ctx);
        expect(ack.status).toBe("active");
        expect(ack.event).toBeUndefined();
        poll = { ...poll, errorCount: ack.errorCount, intervalMs: ack.intervalMs };
      }
      expect(poll.errorCount).toBe(50);
    });
  });

  describe("error", () => {
    it.each<[JobFetchResult & { kind: "error" }, string]>([
      [{ kind: "error", reason: "status", statusCode: 500, message: "boom" }, "upstream_status_500"],
      [{ kind: "error", reason: "status", statusCode: 502, message: "bad gateway" }, "upstream_status_502"],
      [{ kind: "error", reason: "timeout", message: "timed out" }, "upstream_timeout"],
      [{ kind: "error", reason: "network", message: "ECONNRESET" }, "upstream_network"],
      [{ kind: "error", reason: "bad_response", statusCode: 200, message: "not json" }, "upstream_bad_response_200"],
      [{ kind: "error", reason: "bad_response", message: "not json" }, "upstream_bad_response"],
    ])("%o → %s, interval ×2", (result, lastError) => {
      const ack = decidePoll(claimed({ intervalMs: 2_000, notFoundCount: 1, errorCount: 3 }), result, ctx);
      expect(ack).toStrictEqual({
        ...base,
        status: "active",
        nextPollAt: at(2_000),
        intervalMs: 4_000,
        notFoundCount: 1,
        errorCount: 4,
        lastError,
      });
    });

    it.each<[number, number]>([
      [1_000, 2_000],
      [4_000, 8_000],
      [6_000, 10_000],
      [10_000, 10_000],
    ])("interval %i → %i", (before, after) => {
      const ack = decidePoll(claimed({ intervalMs: before }), { kind: "error", reason: "timeout", message: "" }, ctx);
      expect(ack.intervalMs).toBe(after);
    });
  });

  it.each<JobFetchResult>([
    { kind: "ok", job: { id: "job_1", status: "processing" } },
    { kind: "not_found" },
    { kind: "rate_limited", retryAfterMs: 5_000 },
    { kind: "unauthorized", statusCode: 401 },
    { kind: "error", reason: "timeout", message: "" },
  ])("$kind carries claimSeq and observes at now, without touching its inputs", (result) => {
    const poll = claimed({ claimSeq: 123_456 });
    const snapshot = structuredClone(poll);
    const now = new Date("2026-03-04T05:06:07.890Z");
    const ack = decidePoll(poll, result, { ...ctx, now });
    expect(ack.claimSeq).toBe(123_456);
    expect(ack.observedAt).toEqual(now);
    expect(ack.polled).toBe(1);
    expect(ack.nextPollAt.getTime()).toBeGreaterThan(now.getTime());
    expect(poll).toStrictEqual(snapshot);
  });
});

describe("releasePoll", () => {
  const now = new Date("2026-02-02T02:02:02.000Z");
  const poll = claimed({ intervalMs: 4_321, notFoundCount: 2, errorCount: 5, claimSeq: 9 });
  const released = (nextPollAt: Date): PollAck => ({
    id: "pol_1",
    tenantId: "ten_1",
    jobId: "job_1",
    claimSeq: 9,
    status: "active",
    nextPollAt,
    intervalMs: 4_321,
    notFoundCount: 2,
    errorCount: 5,
    lastError: null,
    polled: 0,
    observedAt: now,
  });

  it("hands the poll back due now by default, with its counters, not counted as a poll", () => {
    expect(releasePoll(poll, now)).toStrictEqual(released(now));
  });

  it("hands the poll back due at dueAt when given (after a crash)", () => {
    const dueAt = new Date(now.getTime() + 5_000);
    expect(releasePoll(poll, now, dueAt)).toStrictEqual(released(dueAt));
  });
});
