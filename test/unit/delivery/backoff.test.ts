import { describe, expect, it } from "vitest";
import type { ClaimedDelivery, AttemptRecord, DeliveryOutcome } from "../../../src/domain/delivery.js";
import {
  RETRY_JITTER_RATIO,
  SLOW_DOWN_FLOOR_MS,
  decideDelivery,
  releaseDelivery,
  retryDelayMs,
} from "../../../src/delivery/backoff.js";
import type { SendResult } from "../../../src/domain/attempt.js";
import { createSeededRandom, type Random } from "../../../src/lib/random.js";

const NOW = new Date("2026-01-01T00:00:10.000Z");
const STARTED = new Date("2026-01-01T00:00:09.250Z");
/** DELIVERY_RETRY_SCHEDULE's default: 5s,5m,30m,2h,5h,10h,14h,20h,24h. */
const SCHEDULE = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000] as const;
/** A short test schedule: its longest delay (50 ms) replaces the 60 s floor. */
const SHORT = [50, 50, 50] as const;

const randomAt = (x: number): Random => ({ float: () => x, bytes: (n) => Buffer.alloc(n) });
/** float() = 0: the lowest jitter (-20%). */
const low = randomAt(0);
/** float() = 0.5: the jitter is exactly zero, so delays are the schedule's own. */
const mid = randomAt(0.5);
/** float() just under 1: the highest jitter (just under +20%). */
const high = randomAt(0.999999);

const ctx = { now: NOW, scheduleMs: SCHEDULE, attemptStartedAt: STARTED, random: mid };

function claimed(overrides: Partial<ClaimedDelivery> = {}): ClaimedDelivery {
  return {
    id: "msg_1",
    tenantId: "ten_1",
    watchId: "wch_1",
    event: "job.completed",
    callbackUrl: "https://receiver.example/hook",
    origin: "https://receiver.example",
    body: "{}",
    jobFetchedAt: null,
    retryScheduleMs: null,
    extraHeaders: null,
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
const ok = (statusCode: number, extra: Partial<SendResult> = {}) => result({ ok: true, statusCode, error: null, ...extra });
const status = (statusCode: number, extra: Partial<SendResult> = {}) => result({ statusCode, error: "status", ...extra });
const timeout = result({ error: "timeout" });

const base = { id: "msg_1", tenantId: "ten_1", claimSeq: 4 } as const;
const attemptOf = (r: SendResult, attempt = 1, trigger: "scheduled" | "manual" = "scheduled"): AttemptRecord => ({
  attempt,
  trigger,
  at: STARTED,
  statusCode: r.statusCode,
  durationMs: r.durationMs,
  error: r.error,
  responseExcerpt: r.responseExcerpt ?? null,
  location: r.location ?? null,
});

describe("constants", () => {
  it("jitter is ±20%, the slow-down floor 60 s", () => {
    expect(RETRY_JITTER_RATIO).toBe(0.2);
    expect(SLOW_DOWN_FLOOR_MS).toBe(60_000);
  });
});

describe("retryDelayMs: jitter", () => {
  // [series attempt, random, delay] with a 500 (no Retry-After, no floor): scheduled × (1 + (2x − 1) × 0.2)
  it.each<[number, string, Random, number]>([
    [1, "0", low, 4_000],
    [1, "0.5", mid, 5_000],
    [1, "0.999999", high, 6_000],
    [2, "0", low, 240_000],
    [2, "0.5", mid, 300_000],
    [2, "0.999999", high, 360_000],
    [3, "0", low, 1_440_000],
    [3, "0.5", mid, 1_800_000],
    [3, "0.999999", high, 2_159_999],
    [9, "0", low, 69_120_000],
    [9, "0.5", mid, 86_400_000],
    [9, "0.999999", high, 103_679_965],
  ])("series attempt %i, random %s → %i ms", (seriesAttempt, _x, random, delay) => {
    expect(retryDelayMs(status(500), seriesAttempt, SCHEDULE, random)).toBe(delay);
  });

  it.each(SCHEDULE.map((scheduled, i) => [i + 1, scheduled] as const))(
    "series attempt %i stays within ±20%% of %i ms over many draws, and is spread",
    (seriesAttempt, scheduled) => {
      const random = createSeededRandom(seriesAttempt);
      const delays = Array.from({ length: 500 }, () => retryDelayMs(status(500), seriesAttempt, SCHEDULE, random)!);
      for (const d of delays) {
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(scheduled * 0.8);
        expect(d).toBeLessThanOrEqual(scheduled * 1.2);
      }
      expect(Math.min(...delays)).toBeLessThan(scheduled * 0.9);
      expect(Math.max(...delays)).toBeGreaterThan(scheduled * 1.1);
    },
  );

  it.each<[string, SendResult]>([
    ["500", status(500)],
    ["503 without Retry-After", status(503)],
    ["404", status(404)],
    ["302 redirect", result({ statusCode: 302, error: "redirect", location: "/x" })],
    ["connection_refused", result({ error: "connection_refused" })],
    ["connection_reset", result({ error: "connection_reset" })],
    ["dns", result({ error: "dns" })],
    ["tls", result({ error: "tls" })],
    ["too_large", result({ error: "too_large" })],
  ])("%s is jittered (random 0 → 80%% of the scheduled delay)", (_label, r) => {
    expect(retryDelayMs(r, 2, SCHEDULE, low)).toBe(240_000);
    expect(retryDelayMs(r, 2, SCHEDULE, high)).toBe(360_000);
  });
});

describe("retryDelayMs: Retry-After", () => {
  // Series attempt 2: scheduled 300 000, window [300 000, 600 000]. random = 0 shows that no jitter is applied.
  it.each<[string, SendResult, number]>([
    ["503, Retry-After below the window", status(503, { retryAfterMs: 1_000 }), 300_000],
    ["503, Retry-After 0", status(503, { retryAfterMs: 0 }), 300_000],
    ["503, Retry-After at the window's start", status(503, { retryAfterMs: 300_000 }), 300_000],
    ["503, Retry-After inside the window", status(503, { retryAfterMs: 450_000 }), 450_000],
    ["503, Retry-After at the window's end", status(503, { retryAfterMs: 600_000 }), 600_000],
    ["503, Retry-After above the window", status(503, { retryAfterMs: 3_600_000 }), 600_000],
    ["429, Retry-After below the window", status(429, { retryAfterMs: 1_000 }), 300_000],
    ["429, Retry-After inside the window", status(429, { retryAfterMs: 450_000 }), 450_000],
    ["429, Retry-After above the window", status(429, { retryAfterMs: 3_600_000 }), 600_000],
    ["500, Retry-After is ignored (jittered schedule)", status(500, { retryAfterMs: 450_000 }), 240_000],
    ["500, Retry-After above the window is ignored", status(500, { retryAfterMs: 3_600_000 }), 240_000],
    ["502, Retry-After is ignored", status(502, { retryAfterMs: 450_000 }), 240_000],
    ["503 without Retry-After (jittered schedule)", status(503), 240_000],
    ["429 without Retry-After (jittered schedule, above the floor)", status(429), 240_000],
  ])("%s → %i ms", (_label, r, delay) => {
    expect(retryDelayMs(r, 2, SCHEDULE, low)).toBe(delay);
  });

  it.each([0, 0.5, 0.999999])("a clamped Retry-After is the same whatever the random (%s)", (x) => {
    expect(retryDelayMs(status(503, { retryAfterMs: 450_000 }), 2, SCHEDULE, randomAt(x))).toBe(450_000);
    expect(retryDelayMs(status(503, { retryAfterMs: 10 }), 2, SCHEDULE, randomAt(x))).toBe(300_000);
  });

  it("the window follows the series attempt", () => {
    expect(retryDelayMs(status(503, { retryAfterMs: 1 }), 3, SCHEDULE, low)).toBe(1_800_000);
    expect(retryDelayMs(status(503, { retryAfterMs: 999_999_999 }), 3, SCHEDULE, low)).toBe(3_600_000);
  });
});

describe("retryDelayMs: slow-down floor", () => {
  it.each<[string, SendResult, number, readonly number[], Random, number]>([
    // default schedule, series attempt 1 (scheduled 5 s): the floor wins
    ["timeout, random 0", timeout, 1, SCHEDULE, low, 60_000],
    ["timeout, random 0.5", timeout, 1, SCHEDULE, mid, 60_000],
    ["timeout, random 0.999999", timeout, 1, SCHEDULE, high, 60_000],
    ["429, random 0", status(429), 1, SCHEDULE, low, 60_000],
    ["429, random 0.999999", status(429), 1, SCHEDULE, high, 60_000],
    ["429 with Retry-After inside [5 s, 10 s]", status(429, { retryAfterMs: 9_000 }), 1, SCHEDULE, low, 60_000],
    ["429 with Retry-After above the window", status(429, { retryAfterMs: 120_000 }), 1, SCHEDULE, low, 60_000],
    // no floor for anything else
    ["503 (no floor)", status(503), 1, SCHEDULE, mid, 5_000],
    ["503 with Retry-After (no floor)", status(503, { retryAfterMs: 9_000 }), 1, SCHEDULE, low, 9_000],
    ["500 (no floor)", status(500), 1, SCHEDULE, low, 4_000],
    ["connection_refused (no floor)", result({ error: "connection_refused" }), 1, SCHEDULE, low, 4_000],
    // a scheduled delay above the floor is kept (with its jitter)
    ["timeout, series attempt 2, random 0", timeout, 2, SCHEDULE, low, 240_000],
    ["timeout, series attempt 2, random 0.999999", timeout, 2, SCHEDULE, high, 360_000],
    // short test schedule [50, 50, 50]: the floor is its longest delay, 50 ms
    ["short schedule: timeout, random 0", timeout, 1, SHORT, low, 50],
    ["short schedule: timeout, random 0.5", timeout, 1, SHORT, mid, 50],
    ["short schedule: timeout, random 0.999999", timeout, 1, SHORT, high, 60],
    ["short schedule: 429, random 0", status(429), 2, SHORT, low, 50],
    ["short schedule: 429 with Retry-After 1 s (clamped to 2×)", status(429, { retryAfterMs: 1_000 }), 1, SHORT, low, 100],
    ["short schedule: 500, random 0 (no floor)", status(500), 1, SHORT, low, 40],
    // the floor is the schedule's longest delay when that is under 60 s
    ["[1 s, 30 s]: timeout after attempt 1 waits 30 s", timeout, 1, [1_000, 30_000], low, 30_000],
    ["[1 s, 90 s]: timeout after attempt 1 waits 60 s", timeout, 1, [1_000, 90_000], low, 60_000],
    ["[1 s, 90 s]: 429 after attempt 1 waits 60 s", status(429), 1, [1_000, 90_000], mid, 60_000],
  ])("%s → %i ms", (_label, r, seriesAttempt, scheduleMs, random, delay) => {
    expect(retryDelayMs(r, seriesAttempt, scheduleMs, random)).toBe(delay);
  });
});

describe("retryDelayMs: exhaustion", () => {
  it.each<[readonly number[], number]>([
    [SCHEDULE, 10],
    [SCHEDULE, 11],
    [SHORT, 4],
    [[], 1],
  ])("schedule %j, series attempt %i → undefined", (scheduleMs, seriesAttempt) => {
    expect(retryDelayMs(status(500), seriesAttempt, scheduleMs, mid)).toBeUndefined();
    expect(retryDelayMs(timeout, seriesAttempt, scheduleMs, mid)).toBeUndefined();
    expect(retryDelayMs(status(503, { retryAfterMs: 1_000 }), seriesAttempt, scheduleMs, mid)).toBeUndefined();
  });

  it("the last scheduled delay is still used", () => {
    expect(retryDelayMs(status(500), 9, SCHEDULE, mid)).toBe(86_400_000);
    expect(retryDelayMs(status(500), 3, SHORT, mid)).toBe(50);
  });
});

describe("decideDelivery", () => {
  it.each([200, 201, 202, 204, 299])("%i is delivered", (code) => {
    const r = ok(code);
    expect(decideDelivery(claimed(), r, ctx)).toStrictEqual<DeliveryOutcome>({
      ...base,
      kind: "delivered",
      nextAttemptAt: null,
      lastError: null,
      attempt: attemptOf(r),
    });
  });

  it("a 2xx on the last possible attempt (or with an empty schedule) is still delivered", () => {
    expect(decideDelivery(claimed({ seriesAttempt: 10 }), ok(200), ctx).kind).toBe("delivered");
    expect(decideDelivery(claimed({ retryScheduleMs: [] }), ok(200), ctx).kind).toBe("delivered");
  });

  it("a 2xx that also says abort-message is delivered", () => {
    expect(decideDelivery(claimed(), ok(200, { abortMessage: true }), ctx).kind).toBe("delivered");
  });

  // [label, result, lastError]: the delivery ends at once, whatever is left of the schedule
  it.each<[string, SendResult, string]>([
    ["410", status(410), "gone: the receiver answered 410"],
    ["410 with Retry-After", status(410, { retryAfterMs: 5_000 }), "gone: the receiver answered 410"],
    ["410 with abort-message (410 named)", status(410, { abortMessage: true }), "gone: the receiver answered 410"],
    [
      "500 with abort-message",
      status(500, { abortMessage: true }),
      "gone: the receiver answered webhook-delivery: abort-message",
    ],
    [
      "503 with abort-message",
      status(503, { abortMessage: true, retryAfterMs: 1_000 }),
      "gone: the receiver answered webhook-delivery: abort-message",
    ],
    [
      "429 with abort-message",
      status(429, { abortMessage: true }),
      "gone: the receiver answered webhook-delivery: abort-message",
    ],
    [
      "302 with abort-message",
      result({ statusCode: 302, error: "redirect", location: "/x", abortMessage: true }),
      "gone: the receiver answered webhook-delivery: abort-message",
    ],
    ["blocked", result({ error: "blocked" }), "blocked: the callback address is not allowed"],
  ])("%s fails at once", (_label, r, lastError) => {
    for (const seriesAttempt of [1, 5]) {
      expect(decideDelivery(claimed({ seriesAttempt }), r, ctx)).toStrictEqual<DeliveryOutcome>({
        ...base,
        kind: "failed",
        nextAttemptAt: null,
        lastError,
        attempt: attemptOf(r),
      });
    }
  });

  it("abortMessage: false is an ordinary failure", () => {
    expect(decideDelivery(claimed(), status(500, { abortMessage: false }), ctx).kind).toBe("retry");
  });

  // [label, result, lastError, delay from now] — everything else is retried (random 0.5: no jitter)
  it.each<[string, SendResult, string, number]>([
    ["500", status(500), "status 500", 5_000],
    ["404", status(404), "status 404", 5_000],
    ["400", status(400), "status 400", 5_000],
    ["411", status(411), "status 411", 5_000],
    ["503", status(503), "status 503", 5_000],
    ["503 with Retry-After 8 s", status(503, { retryAfterMs: 8_000 }), "status 503", 8_000],
    ["429 (floor)", status(429), "status 429", 60_000],
    ["302 redirect", result({ statusCode: 302, error: "redirect", location: "/x" }), "status 302", 5_000],
    ["timeout (floor)", timeout, "timeout", 60_000],
    ["connection refused", result({ error: "connection_refused" }), "connection_refused", 5_000],
    ["connection reset", result({ error: "connection_reset" }), "connection_reset", 5_000],
    ["dns", result({ error: "dns" }), "dns", 5_000],
    ["tls", result({ error: "tls" }), "tls", 5_000],
    ["too_large", result({ error: "too_large" }), "too_large", 5_000],
    ["no error given", result({ error: null }), "unknown", 5_000],
  ])("%s is retried (lastError %j) after %i ms", (_label, r, lastError, delay) => {
    expect(decideDelivery(claimed(), r, ctx)).toStrictEqual<DeliveryOutcome>({
      ...base,
      kind: "retry",
      nextAttemptAt: new Date(NOW.getTime() + delay),
      lastError,
      attempt: attemptOf(r),
    });
  });

  it.each(SCHEDULE.map((delay, i) => [i + 1, delay] as const))(
    "series attempt %i waits %i ms from now (no jitter at random 0.5)",
    (seriesAttempt, delay) => {
      const ack = decideDelivery(claimed({ seriesAttempt, attempt: seriesAttempt }), status(500), ctx);
      expect(ack.kind).toBe("retry");
      expect(ack.nextAttemptAt).toEqual(new Date(NOW.getTime() + delay));
    },
  );

  it.each<[string, Random, number]>([
    ["0", low, 240_000],
    ["0.5", mid, 300_000],
    ["0.999999", high, 360_000],
  ])("the jitter reaches nextAttemptAt (random %s → %i ms)", (_x, random, delay) => {
    const ack = decideDelivery(claimed({ seriesAttempt: 2 }), status(500), { ...ctx, random });
    expect(ack.nextAttemptAt).toEqual(new Date(NOW.getTime() + delay));
  });

  it("nextAttemptAt counts from ctx.now, not from the attempt's start", () => {
    const now = new Date("2026-03-03T03:03:03.000Z");
    const ack = decideDelivery(claimed(), status(500), { ...ctx, now });
    expect(ack.nextAttemptAt).toEqual(new Date(now.getTime() + 5_000));
  });

  it.each<[string, SendResult, string]>([
    ["status", status(500), "exhausted: 10 attempts, last status 500"],
    ["429", status(429, { retryAfterMs: 1_000 }), "exhausted: 10 attempts, last status 429"],
    ["timeout", timeout, "exhausted: 10 attempts, last timeout"],
    ["redirect", result({ statusCode: 301, error: "redirect" }), "exhausted: 10 attempts, last status 301"],
    ["dns", result({ error: "dns" }), "exhausted: 10 attempts, last dns"],
    ["no error given", result({ error: null }), "exhausted: 10 attempts, last unknown"],
  ])("gives up once the schedule is used up (%s)", (_label, r, lastError) => {
    expect(decideDelivery(claimed({ seriesAttempt: 10, attempt: 14 }), r, ctx)).toStrictEqual<DeliveryOutcome>({
      ...base,
      kind: "failed",
      nextAttemptAt: null,
      lastError,
      attempt: attemptOf(r, 14),
    });
  });

  describe("schedules", () => {
    // [ctx.scheduleMs, claimed.retryScheduleMs, series attempt, result, kind, delay or lastError]
    it.each<[string, readonly number[], number[] | null, number, SendResult, DeliveryOutcome["kind"], number | string]>([
      [
        "ctx [] (DELIVERY_RETRY_SCHEDULE=none): one attempt only",
        [],
        null,
        1,
        status(500),
        "failed",
        "exhausted: 1 attempts, last status 500",
      ],
      ["ctx [1 s], attempt 1", [1_000], null, 1, status(500), "retry", 1_000],
      ["ctx [1 s], attempt 2", [1_000], null, 2, status(500), "failed", "exhausted: 2 attempts, last status 500"],
      ["watch [1 s, 2 s] overrides ctx, attempt 1", SCHEDULE, [1_000, 2_000], 1, status(500), "retry", 1_000],
      ["watch [1 s, 2 s] overrides ctx, attempt 2", SCHEDULE, [1_000, 2_000], 2, status(500), "retry", 2_000],
      [
        "watch [1 s, 2 s] overrides ctx, attempt 3",
        SCHEDULE,
        [1_000, 2_000],
        3,
        status(500),
        "failed",
        "exhausted: 3 attempts, last status 500",
      ],
      [
        "watch [] = no retries, whatever ctx says",
        SCHEDULE,
        [],
        1,
        status(500),
        "failed",
        "exhausted: 1 attempts, last status 500",
      ],
      ["watch [] = no retries, timeout", SCHEDULE, [], 1, timeout, "failed", "exhausted: 1 attempts, last timeout"],
      [
        "watch [] = no retries, 503 with Retry-After",
        SCHEDULE,
        [],
        1,
        status(503, { retryAfterMs: 1_000 }),
        "failed",
        "exhausted: 1 attempts, last status 503",
      ],
      ["watch schedule used although ctx is []", [], [7_000], 1, status(500), "retry", 7_000],
      ["watch null → ctx schedule", SCHEDULE, null, 9, status(500), "retry", 86_400_000],
      ["watch [50, 50]: its own floor for a timeout", SCHEDULE, [50, 50], 1, timeout, "retry", 50],
      ["watch [50, 50]: its own floor for a 429", SCHEDULE, [50, 50], 2, status(429), "retry", 50],
      ["watch [50, 50]: its own Retry-After window", SCHEDULE, [50, 50], 1, status(503, { retryAfterMs: 5_000 }), "retry", 100],
      ["ctx [1 s, 90 s]: a timeout waits the 60 s floor", [1_000, 90_000], null, 1, timeout, "retry", 60_000],
      ["watch [1 s, 30 s]: a timeout waits 30 s", SCHEDULE, [1_000, 30_000], 1, timeout, "retry", 30_000],
    ])("%s", (_label, scheduleMs, retryScheduleMs, seriesAttempt, r, kind, expected) => {
      const ack = decideDelivery(claimed({ seriesAttempt, retryScheduleMs }), r, { ...ctx, scheduleMs });
      expect(ack.kind).toBe(kind);
      if (kind === "retry") {
        expect(ack.nextAttemptAt).toEqual(new Date(NOW.getTime() + (expected as number)));
      } else {
        expect(ack.nextAttemptAt).toBeNull();
        expect(ack.lastError).toBe(expected);
      }
    });
  });

  describe("the attempt record", () => {
    it("carries the attempt number over the delivery's life, the trigger, the start time and the result", () => {
      const r = status(500, { durationMs: 987, responseExcerpt: '{"error":"db down"}' });
      const ack = decideDelivery(claimed({ seriesAttempt: 2, attempt: 11, trigger: "manual" }), r, ctx);
      expect(ack.attempt).toStrictEqual<AttemptRecord>({
        attempt: 11,
        trigger: "manual",
        at: STARTED,
        statusCode: 500,
        durationMs: 987,
        error: "status",
        responseExcerpt: '{"error":"db down"}',
        location: null,
      });
      expect(ack.nextAttemptAt).toEqual(new Date(NOW.getTime() + 300_000)); // the series attempt picks the delay
    });

    it.each<[string, SendResult, DeliveryOutcome["kind"], Partial<AttemptRecord>]>([
      ["a 2xx with a body", ok(200, { responseExcerpt: "thanks" }), "delivered", { responseExcerpt: "thanks", location: null }],
      ["a 2xx without a body", ok(204), "delivered", { responseExcerpt: null, location: null }],
      [
        "a redirect",
        result({ statusCode: 301, error: "redirect", location: "https://new.example/hook", responseExcerpt: "moved" }),
        "retry",
        { statusCode: 301, error: "redirect", responseExcerpt: "moved", location: "https://new.example/hook" },
      ],
      ["a timeout", timeout, "retry", { statusCode: null, error: "timeout", responseExcerpt: null, location: null }],
      ["a 410 with a body", status(410, { responseExcerpt: "gone" }), "failed", { statusCode: 410, responseExcerpt: "gone" }],
      ["an abort-message", status(400, { abortMessage: true, responseExcerpt: "stop" }), "failed", { responseExcerpt: "stop" }],
      ["blocked", result({ error: "blocked" }), "failed", { error: "blocked", responseExcerpt: null, location: null }],
      [
        "exhausted",
        status(500, { responseExcerpt: "still down" }),
        "failed",
        { statusCode: 500, responseExcerpt: "still down", location: null },
      ],
    ])("%s → %s, recorded with its excerpt and location", (label, r, kind, fields) => {
      const ack = decideDelivery(claimed({ seriesAttempt: label === "exhausted" ? 10 : 1 }), r, ctx);
      expect(ack.kind).toBe(kind);
      expect(ack.attempt).toStrictEqual(attemptOf(r));
      expect(ack.attempt).toMatchObject(fields);
    });
  });

  describe("aborted", () => {
    it.each<[string, SendResult]>([
      ["a request cut short", result({ aborted: true, error: "connection_reset" })],
      ["a request cut short, error null", result({ aborted: true })],
      ["a 200 (aborted wins)", result({ aborted: true, ok: true, statusCode: 200 })],
      ["a 410 (aborted wins)", result({ aborted: true, statusCode: 410, error: "status" })],
      ["blocked (aborted wins)", result({ aborted: true, error: "blocked" })],
      ["abort-message (aborted wins)", result({ aborted: true, statusCode: 500, error: "status", abortMessage: true })],
    ])("%s releases the claim, due now, without an attempt record", (_label, r) => {
      for (const c of [claimed({ seriesAttempt: 10 }), claimed({ retryScheduleMs: [] })]) {
        expect(decideDelivery(c, r, ctx)).toStrictEqual<DeliveryOutcome>({
          ...base,
          kind: "release",
          nextAttemptAt: NOW,
          lastError: null,
          attempt: null,
        });
      }
    });

    it("aborted: false is an ordinary result", () => {
      expect(decideDelivery(claimed(), result({ aborted: false, error: "timeout" }), ctx).kind).toBe("retry");
    });
  });

  it("never sets refreshed (the worker does)", () => {
    for (const r of [ok(200), status(500), status(410), result({ aborted: true })]) {
      expect("refreshed" in decideDelivery(claimed(), r, ctx)).toBe(false);
    }
  });
});

describe("releaseDelivery", () => {
  it("hands the claim back due at the given time, without an attempt", () => {
    const dueAt = new Date("2026-05-05T05:05:05.000Z");
    expect(releaseDelivery(claimed({ claimSeq: 77, seriesAttempt: 3, attempt: 9 }), dueAt)).toStrictEqual<DeliveryOutcome>({
      id: "msg_1",
      tenantId: "ten_1",
      claimSeq: 77,
      kind: "release",
      nextAttemptAt: dueAt,
      lastError: null,
      attempt: null,
    });
  });

  it("identifies the delivery by id, tenant and claim sequence", () => {
    const ack = releaseDelivery(claimed({ id: "msg_other", tenantId: "ten_other", claimSeq: 1 }), NOW);
    expect(ack).toMatchObject({ id: "msg_other", tenantId: "ten_other", claimSeq: 1, kind: "release", nextAttemptAt: NOW });
  });
});
