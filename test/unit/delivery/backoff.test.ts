import { describe, expect, it } from "vitest";
import type { ClaimedDelivery } from "../../../src/db/queries/claim-due-deliveries.js";
import { decideDelivery, releaseDelivery, type DeliveryAck } from "../../../src/delivery/backoff.js";
import type { SendResult } from "../../../src/delivery/send.js";

const NOW = new Date("2026-01-01T00:00:10.000Z");
const STARTED = new Date("2026-01-01T00:00:09.250Z");
const SCHEDULE = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000] as const;
const ctx = { now: NOW, scheduleMs: SCHEDULE, attemptStartedAt: STARTED };

function claimed(overrides: Partial<ClaimedDelivery> = {}): ClaimedDelivery {
  return {
    id: "msg_1",
    tenantId: "ten_1",
    watchId: "wch_1",
    event: "job.completed",
    callbackUrl: "https://receiver.example/hook",
    body: "{}",
    claimSeq: 4,
    seriesAttempt: 1,
    attempt: 1,
    trigger: "scheduled",
    ...overrides,
  };
}

const result = (overrides: Partial<SendResult>): SendResult => ({
  ok: false,
  statusCode: null,
  durationMs: 120,
  error: null,
  ...overrides,
});
const ok = (statusCode: number) => result({ ok: true, statusCode, error: null });
const status = (statusCode: number, extra: Partial<SendResult> = {}) => result({ statusCode, error: "status", ...extra });

const base = { id: "msg_1", tenantId: "ten_1", claimSeq: 4 } as const;
const attemptOf = (r: SendResult, attempt = 1, trigger: "scheduled" | "manual" = "scheduled") => ({
  attempt,
  trigger,
  at: STARTED,
  statusCode: r.statusCode,
  durationMs: r.durationMs,
  error: r.error,
});

describe("decideDelivery", () => {
  it.each([200, 201, 202, 204, 299])("%i is delivered", (code) => {
    const r = ok(code);
    expect(decideDelivery(claimed(), r, ctx)).toStrictEqual<DeliveryAck>({
      ...base,
      kind: "delivered",
      nextAttemptAt: null,
      lastError: null,
      attempt: attemptOf(r),
    });
  });

  it("410 fails at once, whatever is left of the schedule", () => {
    const r = status(410);
    expect(decideDelivery(claimed({ seriesAttempt: 1 }), r, ctx)).toStrictEqual<DeliveryAck>({
      ...base,
      kind: "failed",
      nextAttemptAt: null,
      lastError: "gone: the receiver answered 410",
      attempt: attemptOf(r),
    });
  });

  it("a blocked address fails at once", () => {
    const r = result({ error: "blocked" });
    expect(decideDelivery(claimed(), r, ctx)).toStrictEqual<DeliveryAck>({
      ...base,
      kind: "failed",
      nextAttemptAt: null,
      lastError: "blocked: the callback address is not allowed",
      attempt: attemptOf(r),
    });
  });

  // [send result, lastError] — everything else is retried
  it.each<[string, SendResult, string]>([
    ["500", status(500), "status 500"],
    ["503 with Retry-After", status(503, { retryAfterMs: 60_000 }), "status 503"],
    ["404", status(404), "status 404"],
    ["400", status(400), "status 400"],
    ["429", status(429), "status 429"],
    ["411", status(411), "status 411"],
    ["302 redirect", result({ statusCode: 302, error: "redirect", location: "/x" }), "status 302"],
    ["timeout", result({ error: "timeout" }), "timeout"],
    ["connection refused", result({ error: "connection_refused" }), "connection_refused"],
    ["connection reset", result({ error: "connection_reset" }), "connection_reset"],
    ["dns", result({ error: "dns" }), "dns"],
    ["tls", result({ error: "tls" }), "tls"],
    ["network", result({ error: "network" }), "network"],
    ["no error given", result({ error: null }), "unknown"],
  ])("%s is retried after schedule[0]", (_label, r, lastError) => {
    expect(decideDelivery(claimed(), r, ctx)).toStrictEqual<DeliveryAck>({
      ...base,
      kind: "retry",
      nextAttemptAt: new Date(NOW.getTime() + 5_000),
      lastError,
      attempt: attemptOf(r),
    });
  });

  it.each(SCHEDULE.map((delay, i) => [i + 1, delay] as const))(
    "attempt %i of the series waits %i ms (from now)",
    (seriesAttempt, delay) => {
      const ack = decideDelivery(claimed({ seriesAttempt, attempt: seriesAttempt }), status(500), ctx);
      expect(ack.kind).toBe("retry");
      expect(ack.nextAttemptAt).toEqual(new Date(NOW.getTime() + delay));
    },
  );

  it.each<[string, SendResult, string]>([
    ["status", status(500), "exhausted: 8 attempts, last status 500"],
    ["timeout", result({ error: "timeout" }), "exhausted: 8 attempts, last timeout"],
    ["redirect", result({ statusCode: 301, error: "redirect" }), "exhausted: 8 attempts, last status 301"],
  ])("gives up after the schedule is used up (%s)", (_label, r, lastError) => {
    expect(decideDelivery(claimed({ seriesAttempt: 8, attempt: 8 }), r, ctx)).toStrictEqual<DeliveryAck>({
      ...base,
      kind: "failed",
      nextAttemptAt: null,
      lastError,
      attempt: attemptOf(r, 8),
    });
  });

  it("a 2xx on the last possible attempt is still delivered", () => {
    expect(decideDelivery(claimed({ seriesAttempt: 8 }), ok(200), ctx).kind).toBe("delivered");
  });

  it.each<[readonly number[], number, DeliveryAck["kind"]]>([
    [[], 1, "failed"], // DELIVERY_RETRY_SCHEDULE=none: one attempt only
    [[1_000], 1, "retry"],
    [[1_000], 2, "failed"],
    [[1_000, 2_000], 2, "retry"],
    [[1_000, 2_000], 3, "failed"],
  ])("schedule %j, series attempt %i → %s", (scheduleMs, seriesAttempt, kind) => {
    const ack = decideDelivery(claimed({ seriesAttempt }), status(500), { ...ctx, scheduleMs });
    expect(ack.kind).toBe(kind);
    if (kind === "failed") expect(ack.lastError).toBe(`exhausted: ${seriesAttempt} attempts, last status 500`);
  });

  it("records the attempt number over the delivery's life, the trigger and the start time", () => {
    const r = status(500, { durationMs: 987 });
    const ack = decideDelivery(claimed({ seriesAttempt: 2, attempt: 11, trigger: "manual" }), r, ctx);
    expect(ack.attempt).toStrictEqual({
      attempt: 11,
      trigger: "manual",
      at: STARTED,
      statusCode: 500,
      durationMs: 987,
      error: "status",
    });
    expect(ack.nextAttemptAt).toEqual(new Date(NOW.getTime() + 300_000)); // series attempt picks the delay
  });

  it.each<[string, SendResult]>([
    ["a request cut short", result({ aborted: true, error: "network" })],
    ["a 200 (aborted wins)", result({ aborted: true, ok: true, statusCode: 200 })],
  ])("aborted (%s) releases the claim, due now, without an attempt record", (_label, r) => {
    expect(decideDelivery(claimed({ seriesAttempt: 8 }), r, ctx)).toStrictEqual<DeliveryAck>({
      ...base,
      kind: "release",
      nextAttemptAt: NOW,
      lastError: null,
      attempt: null,
    });
  });

  it("aborted: false is an ordinary result", () => {
    expect(decideDelivery(claimed(), result({ aborted: false, error: "timeout" }), ctx).kind).toBe("retry");
  });
});

describe("releaseDelivery", () => {
  it("hands the claim back due at the given time, without an attempt", () => {
    const dueAt = new Date("2026-05-05T05:05:05.000Z");
    expect(releaseDelivery(claimed({ claimSeq: 77 }), dueAt)).toStrictEqual<DeliveryAck>({
      id: "msg_1",
      tenantId: "ten_1",
      claimSeq: 77,
      kind: "release",
      nextAttemptAt: dueAt,
      lastError: null,
      attempt: null,
    });
  });
});
