import { describe, expect, it } from "vitest";
import type { ClaimedPoll, PollUpdate } from "../../../src/domain/poll.js";
import { createSeededRandom, type Random } from "../../../src/lib/random.js";
import type { CadenceOptions } from "../../../src/scheduler/cadence.js";
import { NOT_FOUND_LIMIT, decidePoll, releasePoll, type DecideContext } from "../../../src/scheduler/decide-poll.js";
import { backoffPlan } from "../../../src/scheduler/plan-polls.js";
import type { JobFetchResult } from "../../../src/upstream/client.js";
import type { UpstreamJob } from "../../../src/domain/job.js";

const NOW = new Date("2026-01-01T00:00:00.000Z");
/** The job was first watched 30 s ago and last polled 4 s ago. */
const STARTED = new Date(NOW.getTime() - 30_000);
const PREV = new Date(NOW.getTime() - 4_000);
const ELAPSED = 30_000;
const cadence: CadenceOptions = { minIntervalMs: 1_000, maxIntervalMs: 10_000 };
/** float 0.5 → no jitter, so a backoff's nextPollAt = now + intervalMs exactly. */
const noJitter: Random = { float: () => 0.5, bytes: (n) => Buffer.alloc(n) };
/** Offsets from STARTED: the first is 3 s from now (33 s after the start). */
const PLAN = [33_000, 37_500, 45_000];
const at = (ms: number) => new Date(NOW.getTime() + ms);

interface PlanCall {
  poll: ClaimedPoll;
  jobType: string | undefined;
  elapsedMs: number;
}

/** A context whose `plan` records what it was asked and answers `plan` (a copy each time). */
function context(overrides: Partial<Omit<DecideContext, "plan">> = {}, plan: readonly number[] = PLAN) {
  const calls: PlanCall[] = [];
  const ctx: DecideContext = {
    now: NOW,
    cadence,
    random: noJitter,
    plan: (poll, jobType, elapsedMs) => {
      calls.push({ poll, jobType, elapsedMs });
      return [...plan];
    },
    ...overrides,
  };
  return { ctx, calls };
}

function claimed(overrides: Partial<ClaimedPoll> = {}): ClaimedPoll {
  return {
    id: "pol_1",
    tenantId: "ten_1",
    jobId: "job_1",
    claimSeq: 7,
    intervalMs: 2_000,
    emittedStatus: "processing",
    notFoundCount: 0,
    errorCount: 0,
    pollCount: 5,
    startedAt: STARTED,
    prevPolledAt: PREV,
    jobType: "render",
    plannedPredictive: false,
    ...overrides,
  };
}

const job = (status: UpstreamJob["status"], extra: Record<string, unknown> = {}): UpstreamJob => ({
  id: "job_1",
  status,
  result_data: null,
  ...extra,
});

const base = { id: "pol_1", tenantId: "ten_1", jobId: "job_1", claimSeq: 7, polled: 1, observedAt: NOW } as const;

/** Narrows an ack that must exist. */
function defined(ack: PollUpdate | undefined): PollUpdate {
  expect(ack).toBeDefined();
  return ack!;
}

describe("NOT_FOUND_LIMIT", () => {
  it("is 3", () => {
    expect(NOT_FOUND_LIMIT).toBe(3);
  });
});

describe("decidePoll", () => {
  describe("ok, nothing to write", () => {
    // [case, poll overrides, fetched job]
    it.each<[string, Partial<ClaimedPoll>, UpstreamJob]>([
      ["still processing, type known", {}, job("processing", { type: "render" })],
      ["still queued, type known", { emittedStatus: "queued" }, job("queued", { type: "render" })],
      ["still processing, no type given, none known", { jobType: null }, job("processing")],
      ["still processing, type not a string", { jobType: null }, job("processing", { type: 42 })],
      ["still processing, type null", { jobType: null }, job("processing", { type: null })],
      ["still processing, a different type (only the first is learned)", {}, job("processing", { type: "encode" })],
      ["still processing, no type in the answer, one known", {}, job("processing")],
      ["still queued, no previous poll", { emittedStatus: "queued", prevPolledAt: null }, job("queued")],
    ])("%s → undefined, no plan asked", (_name, overrides, fetched) => {
      const { ctx, calls } = context();
      expect(decidePoll(claimed(overrides), { kind: "ok", job: fetched }, ctx)).toBeUndefined();
      expect(calls).toEqual([]);
    });
  });

  describe("ok, still running: planned by backoff before the type had history", () => {
    const withModel = (has: boolean) => context({ hasModel: (_poll, jobType) => has && jobType === "render" });
    it("plans again once the type has a learned distribution, and marks the plan predictive", () => {
      const { ctx, calls } = withModel(true);
      const ack = defined(decidePoll(claimed(), { kind: "ok", job: job("processing", { type: "render" }) }, ctx));
      expect(calls).toHaveLength(1);
      expect(ack.plannedPredictive).toBe(true);
      expect(ack.planMs).toEqual(PLAN.slice(1));
      expect(ack.event).toBeUndefined();
    });
    it("writes nothing when the plan is already predictive", () => {
      const { ctx, calls } = withModel(true);
      expect(
        decidePoll(claimed({ plannedPredictive: true }), { kind: "ok", job: job("processing", { type: "render" }) }, ctx),
      ).toBeUndefined();
      expect(calls).toEqual([]);
    });
    it("writes nothing while the type has no history", () => {
      const { ctx, calls } = withModel(false);
      expect(decidePoll(claimed(), { kind: "ok", job: job("processing", { type: "render" }) }, ctx)).toBeUndefined();
      expect(calls).toEqual([]);
    });
  });

  describe("ok, still running: a new plan", () => {
    // [case, poll overrides, fetched job, event, job type the plan is asked for]
    it.each<[string, Partial<ClaimedPoll>, UpstreamJob, PollUpdate["event"], string | undefined]>([
      ["first sight of the type", { jobType: null }, job("processing", { type: "render" }), undefined, "render"],
      [
        "first poll: queued (no event)",
        { emittedStatus: null, prevPolledAt: null, jobType: null },
        job("queued"),
        undefined,
        undefined,
      ],
      [
        "first poll: queued with a type",
        { emittedStatus: null, prevPolledAt: null, jobType: null },
        job("queued", { type: "render" }),
        undefined,
        "render",
      ],
      [
        "first poll: processing",
        { emittedStatus: null, jobType: null },
        job("processing", { type: "render" }),
        { type: "job.processing" },
        "render",
      ],
      [
        "queued → processing",
        { emittedStatus: "queued" },
        job("processing", { type: "render" }),
        { type: "job.processing" },
        "render",
      ],
      [
        "queued → processing, no type",
        { emittedStatus: "queued", jobType: null },
        job("processing"),
        { type: "job.processing" },
        undefined,
      ],
      ["processing → queued (no event)", {}, job("queued", { type: "render" }), undefined, "render"],
      ["recovery after errors", { errorCount: 4 }, job("processing", { type: "render" }), undefined, "render"],
      ["recovery after 404s", { notFoundCount: 2 }, job("processing"), undefined, undefined],
      [
        "recovery after both, with a status change",
        { notFoundCount: 1, errorCount: 3, emittedStatus: "queued" },
        job("processing"),
        { type: "job.processing" },
        undefined,
      ],
      // A type that is known is still passed on from the answer (not from the row).
      [
        "status change, type known",
        { emittedStatus: "queued" },
        job("processing", { type: "encode" }),
        { type: "job.processing" },
        "encode",
      ],
    ])("%s", (_name, overrides, fetched, event, jobType) => {
      const { ctx, calls } = context();
      const poll = claimed(overrides);
      const ack = defined(decidePoll(poll, { kind: "ok", job: fetched }, ctx));
      expect(ack).toStrictEqual({
        ...base,
        status: "active",
        nextPollAt: new Date(STARTED.getTime() + PLAN[0]!), // = now + 3 s: offsets count from the start
        intervalMs: 3_000, // the spacing the job is polled at now
        planMs: PLAN.slice(1),
        plannedPredictive: false, // the default context has no learned distribution
        job: fetched,
        jobStatus: fetched.status,
        notFoundCount: 0,
        errorCount: 0,
        lastError: null,
        ...(event ? { event } : {}),
      });
      expect(ack.nextPollAt).toEqual(at(3_000));
      expect(ack.job).toBe(fetched); // verbatim
      expect(calls).toEqual([{ poll, jobType, elapsedMs: ELAPSED }]);
      expect(calls[0]!.poll).toBe(poll);
    });

    it("asks the plan for the elapsed time since the start, whatever the poll count", () => {
      const { ctx, calls } = context();
      const startedAt = new Date(NOW.getTime() - 123_456);
      decidePoll(claimed({ startedAt, jobType: null, pollCount: 1 }), { kind: "ok", job: job("processing", { type: "x" }) }, ctx);
      expect(calls.map((c) => c.elapsedMs)).toEqual([123_456]);
    });

    it("asks with the type cut to 100 characters", () => {
      const { ctx, calls } = context();
      const long = "t".repeat(250);
      decidePoll(claimed({ jobType: null }), { kind: "ok", job: job("processing", { type: long }) }, ctx);
      expect(calls.map((c) => c.jobType)).toEqual(["t".repeat(100)]);
    });

    it("a one-poll plan leaves an empty stored plan", () => {
      const { ctx } = context({}, [31_500]);
      const ack = defined(decidePoll(claimed({ emittedStatus: "queued" }), { kind: "ok", job: job("processing") }, ctx));
      expect(ack.nextPollAt).toEqual(at(1_500));
      expect(ack.planMs).toEqual([]);
    });

    it("with the scheduler's backoff plan the next poll is at least the minimum ahead and the stored plan follows it", () => {
      const random = createSeededRandom(7);
      const ctx: DecideContext = {
        now: NOW,
        cadence,
        random,
        plan: (_p, _t, elapsedMs) => backoffPlan(elapsedMs, cadence, random),
      };
      const ack = defined(decidePoll(claimed({ emittedStatus: "queued" }), { kind: "ok", job: job("processing") }, ctx));
      const offsets = [ack.nextPollAt.getTime() - STARTED.getTime(), ...ack.planMs!];
      expect(offsets[0]).toBeGreaterThanOrEqual(ELAPSED + cadence.minIntervalMs);
      for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBeGreaterThan(offsets[i - 1]!);
    });
  });

  describe("ok, finished", () => {
    // [case, poll overrides, fetched job, event] (what a finished job says about its type's completion time
    // is the duration learner's: duration-learner.test.ts)
    it.each<[string, Partial<ClaimedPoll>, UpstreamJob, PollUpdate["event"]]>([
      ["processing → completed", {}, job("completed", { type: "render" }), { type: "job.completed" }],
      ["processing → failed", {}, job("failed", { type: "render", error: "boom" }), { type: "job.failed" }],
      ["queued → canceled", { emittedStatus: "queued" }, job("canceled", { type: "render" }), { type: "job.canceled" }],
      [
        "processing → completed after errors (counts cleared)",
        { errorCount: 2, notFoundCount: 1 },
        job("completed", { type: "render" }),
        { type: "job.completed" },
      ],
      ["a type first seen at the end", { jobType: null }, job("completed", { type: "render" }), { type: "job.completed" }],
      ["first poll already completed", { emittedStatus: null, prevPolledAt: null }, job("completed"), { type: "job.completed" }],
    ])("%s", (_name, overrides, fetched, event) => {
      const { ctx, calls } = context();
      const ack = defined(decidePoll(claimed(overrides), { kind: "ok", job: fetched }, ctx));
      expect(ack).toStrictEqual({
        ...base,
        status: "done",
        nextPollAt: NOW,
        intervalMs: 2_000,
        job: fetched,
        jobStatus: fetched.status,
        notFoundCount: 0,
        errorCount: 0,
        lastError: null,
        ...(event ? { event } : {}),
      });
      expect(calls).toEqual([]); // a finished job needs no plan
    });
  });

  describe("not_found", () => {
    it.each<[number, number, PollUpdate["status"]]>([
      [0, 1, "active"],
      [1, 2, "active"],
      [2, 3, "expired"],
    ])("notFoundCount %i → %i (%s)", (before, after, status) => {
      const { ctx, calls } = context();
      const ack = defined(decidePoll(claimed({ notFoundCount: before, errorCount: 4 }), { kind: "not_found" }, ctx));
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
      expect("planMs" in ack).toBe(false); // and the stored plan
      expect(calls).toEqual([]);
    });

    it("expires after exactly NOT_FOUND_LIMIT 404s in a row", () => {
      const { ctx } = context();
      let poll = claimed();
      const statuses: string[] = [];
      for (let i = 0; i < NOT_FOUND_LIMIT; i++) {
        const ack = defined(decidePoll(poll, { kind: "not_found" }, ctx));
        statuses.push(ack.status);
        poll = { ...poll, notFoundCount: ack.notFoundCount, intervalMs: ack.intervalMs };
      }
      expect(statuses).toEqual(["active", "active", "expired"]);
    });

    it("an ok in between resets the count (a write even without a change), so the streak starts over", () => {
      const { ctx } = context();
      const afterTwo = claimed({ notFoundCount: 2 });
      const ok = defined(decidePoll(afterTwo, { kind: "ok", job: job("processing", { type: "render" }) }, ctx));
      expect(ok.notFoundCount).toBe(0);
      const next = defined(decidePoll({ ...afterTwo, notFoundCount: ok.notFoundCount }, { kind: "not_found" }, ctx));
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
      const { ctx, calls } = context();
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
      expect(calls).toEqual([]);
    });

    it("compares Retry-After with the jittered delay", () => {
      const { ctx } = context({ random: { float: () => 0.999999, bytes: (n) => Buffer.alloc(n) } });
      expect(decidePoll(claimed({ intervalMs: 2_000 }), { kind: "rate_limited", retryAfterMs: 2_100 }, ctx)?.nextPollAt).toEqual(
        at(2_200),
      );
    });
  });

  describe("unauthorized", () => {
    it.each([401, 403] as const)("%i → max interval, counted as an error, never expires", (statusCode) => {
      const { ctx, calls } = context();
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
      expect(calls).toEqual([]);
    });

    it("stays active however many times it repeats", () => {
      const { ctx } = context();
      let poll = claimed();
      for (let i = 0; i < 50; i++) {
        const ack = defined(decidePoll(poll, { kind: "unauthorized", statusCode: 401 }, ctx));
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
      [{ kind: "error", reason: "no_key", message: "the tenant has no Rendley API key" }, "upstream_no_key"],
    ])("%o → %s, interval ×2", (result, lastError) => {
      const { ctx, calls } = context();
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
      expect(calls).toEqual([]);
    });

    it.each<[number, number]>([
      [1_000, 2_000],
      [4_000, 8_000],
      [6_000, 10_000],
      [10_000, 10_000],
    ])("interval %i → %i", (before, after) => {
      const { ctx } = context();
      const ack = decidePoll(claimed({ intervalMs: before }), { kind: "error", reason: "timeout", message: "" }, ctx);
      expect(ack?.intervalMs).toBe(after);
    });
  });

  it.each<[string, JobFetchResult]>([
    ["ok processing", { kind: "ok", job: { id: "job_1", status: "processing", type: "render" } }],
    ["ok completed", { kind: "ok", job: { id: "job_1", status: "completed", type: "render" } }],
    ["not_found", { kind: "not_found" }],
    ["rate_limited", { kind: "rate_limited", retryAfterMs: 5_000 }],
    ["unauthorized", { kind: "unauthorized", statusCode: 401 }],
    ["error", { kind: "error", reason: "timeout", message: "" }],
  ])("%s carries claimSeq and observes at now, without touching its inputs", (_name, result) => {
    const now = new Date("2026-03-04T05:06:07.890Z");
    const poll = claimed({
      claimSeq: 123_456,
      emittedStatus: "queued",
      startedAt: new Date(now.getTime() - 60_000),
      prevPolledAt: null,
    });
    const snapshot = structuredClone(poll);
    const { ctx } = context({ now });
    const plan = (_p: ClaimedPoll, _t: string | undefined, elapsedMs: number) => [elapsedMs + 1_000, elapsedMs + 2_500];
    const ack = defined(decidePoll(poll, result, { ...ctx, plan }));
    expect(ack.claimSeq).toBe(123_456);
    expect(ack.observedAt).toEqual(now);
    expect(ack.polled).toBe(1);
    if (ack.status === "done") expect(ack.nextPollAt).toEqual(now);
    else expect(ack.nextPollAt.getTime()).toBeGreaterThan(now.getTime());
    expect(poll).toStrictEqual(snapshot);
  });
});

describe("errors while a plan runs", () => {
  // An ok ack stores the spacing the job is polled at (the plan's first gap) as intervalMs, so an error backs
  // off ×2 from that spacing instead of jumping to the maximum and skipping the dense part of the plan.
  it("one transient 500 on a job polled every 2 s backs off from 2 s, not from the maximum interval", () => {
    const { ctx } = context({}, [32_000, 34_000, 36_000, 38_000, 40_000]);
    const planned = defined(decidePoll(claimed({ emittedStatus: "queued" }), { kind: "ok", job: job("processing") }, ctx));
    // The claim at the first planned offset (2 s later) keeps interval_ms and moves prev_polled_at on.
    const now = planned.nextPollAt;
    const poll = claimed({ intervalMs: planned.intervalMs, prevPolledAt: NOW, claimSeq: 8, pollCount: 6 });
    const ack = defined(decidePoll(poll, { kind: "error", reason: "status", statusCode: 503, message: "" }, { ...ctx, now }));
    const spacingMs = now.getTime() - NOW.getTime();
    expect(spacingMs).toBe(2_000);
    // Backing off "as before" (×2 after an error) from the spacing the job was being polled at.
    expect(ack.nextPollAt.getTime() - now.getTime()).toBeLessThanOrEqual(2 * spacingMs);
  });
});

describe("releasePoll", () => {
  const now = new Date("2026-02-02T02:02:02.000Z");
  const poll = claimed({ intervalMs: 4_321, notFoundCount: 2, errorCount: 5, claimSeq: 9 });
  const released = (nextPollAt: Date): PollUpdate => ({
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

  it("hands the poll back due now by default, with its counters, not counted as a poll, keeping plan and job", () => {
    expect(releasePoll(poll, now)).toStrictEqual(released(now));
  });

  it("hands the poll back due at dueAt when given (after a crash)", () => {
    const dueAt = new Date(now.getTime() + 5_000);
    expect(releasePoll(poll, now, dueAt)).toStrictEqual(released(dueAt));
  });
});

describe("decidePoll: statuses as Rendley's services spell them", () => {
  const ok = (status: string, extra: Record<string, unknown> = {}): JobFetchResult => ({
    kind: "ok",
    job: { id: "job_1", status, ...extra },
  });

  it.each<[string, ClaimedPoll["service"], string, string | undefined, PollUpdate["status"]]>([
    ["api: cancelled is the terminal canceled", "api", "cancelled", "job.canceled", "done"],
    ["agent: pending is queued (no event)", "agent", "pending", undefined, "active"],
    ["agent: running is processing", "agent", "running", "job.processing", "active"],
    ["agent: waiting_input is processing", "agent", "waiting_input", "job.processing", "active"],
    ["agent: cancelled is canceled", "agent", "cancelled", "job.canceled", "done"],
    ["agent: completed", "agent", "completed", "job.completed", "done"],
  ])("%s", (_name, service, status, event, pollStatus) => {
    const { ctx } = context();
    const ack = defined(decidePoll(claimed({ service, emittedStatus: null }), ok(status), ctx));
    expect(ack.status).toBe(pollStatus);
    expect(ack.event?.type).toBe(event);
    expect(ack.job?.status).toBe(status); // the job as received
  });

  it("an unknown status keeps the job watched, backing off, its job kept, the value in last_error", () => {
    const { ctx, calls } = context();
    const fetched = ok("archived\u0000 weird status that is much too long to keep", { extra: [1] });
    const ack = defined(decidePoll(claimed({ intervalMs: 4_000, errorCount: 1 }), fetched, ctx));
    expect(ack).toMatchObject({
      status: "active",
      nextPollAt: at(4_000),
      intervalMs: 6_000,
      errorCount: 2,
      notFoundCount: 0,
      lastError: "upstream_unknown_status:archivedweirdstatusthatismuchtoo",
      unknownStatus: "archivedweirdstatusthatismuchtoo",
    });
    expect(ack.lastError!.length).toBe("upstream_unknown_status:".length + 32);
    expect(ack.event).toBeUndefined();
    expect(ack.jobStatus).toBeUndefined(); // the stored relay status stays
    expect(ack.job).toEqual(fetched.kind === "ok" ? fetched.job : undefined);
    expect(calls).toEqual([]);
  });

  it("an api job does not take agent spellings (running is unknown there)", () => {
    const { ctx } = context();
    const ack = defined(decidePoll(claimed({ service: "api" }), ok("running"), ctx));
    expect(ack.lastError).toBe("upstream_unknown_status:running");
  });
});
