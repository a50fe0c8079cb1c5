import { p50p99, runPollerWorkload, summarizeOutcome, type OutcomeSummary, type Poller } from "../latency-workload.js";
import { ratio, round } from "../metrics.js";
import { atMost, fmt, type Check, type ScenarioContext, type ScenarioResult } from "../scenario.js";
import { drawDuration, poissonArrivals, seededRng, type DurationDist } from "../workload.js";
import { minGapCheck } from "./latency.js";

/** Targets for jobs registered after the first minute of a cold start, against plain backoff. */
export const COLD_TARGETS = { p50VsBackoff: 0.6, requestsVsBackoff: 1.1, p99VsBackoff: 1, followMs: 120_000, followWithin: 0.15 };

const COLD_TYPE = "cold_render";
const SHIFT_TYPE = "shift_render";

/**
 * A relay with an empty database meets two job types it has never seen:
 * - `cold_render`: 3,000 jobs over two minutes, lognormal median 20 s, σ 0.6 (a new deployment's first jobs);
 * - `shift_render`: jobs over four minutes whose median goes from 20 s to 40 s half-way (Rendley slows down).
 * Every job also runs under the fixed 3 s loop and plain backoff. Reported: p50/p95/p99 and requests per job
 * of the three pollers for cold jobs registered in the first minute and after it, the shift type's p50
 * before and after the change, and how long after the change the relay's stored fit had the new median.
 * Durations are capped at +2.5σ so the run ends (0.6% of jobs are redrawn).
 */
export async function cold(ctx: ScenarioContext): Promise<ScenarioResult> {
  const scale = ctx.quick ? 0.1 : 1;
  const size = {
    coldJobs: ctx.quick ? 300 : 3_000,
    coldSpanMs: 120_000 * scale,
    shiftJobs: ctx.quick ? 400 : 2_400,
    shiftSpanMs: 240_000 * scale,
    leadMs: 2_000,
    graceMs: 3_000,
    tailTimeoutMs: 240_000,
  };
  const changeAtMs = size.shiftSpanMs / 2;
  const minuteMs = 60_000 * scale;
  const dist = (medianMs: number): DurationDist => ({
    median_ms: medianMs * scale,
    sigma: 0.6,
    max_ms: Math.round(medianMs * scale * Math.exp(0.6 * 2.5)),
  });
  const rng = seededRng(ctx.seed * 6_151 + 11);
  const jobs = [
    ...poissonArrivals(rng, size.coldJobs, size.coldSpanMs).map((atMs) => ({
      atMs,
      type: COLD_TYPE,
      durationMs: drawDuration(rng, dist(20_000)),
    })),
    ...poissonArrivals(rng, size.shiftJobs, size.shiftSpanMs).map((atMs) => ({
      atMs,
      type: SHIFT_TYPE,
      durationMs: drawDuration(rng, dist(atMs < changeAtMs ? 20_000 : 40_000)),
    })),
  ].sort((a, b) => a.atMs - b.atMs);
  const data: Record<string, unknown> = { size: { ...size, change_at_ms: changeAtMs, duration_scale: scale } };

  // What the relay has stored of the shift type's fit, every 2 s (the relay stores its fits every 10 s).
  const fitTrace: { at_ms: number; median_ms: number; samples: number }[] = [];
  try {
    const run = await runPollerWorkload(ctx, {
      scenario: "cold",
      jobs,
      leadMs: size.leadMs,
      graceMs: size.graceMs,
      tailTimeoutMs: size.tailTimeoutMs,
      monitor: {
        everyMs: 2_000,
        async sample(stack, elapsedMs) {
          if (!stack.db.sql) return;
          const [row] = await stack.db.sql<{ samples: number; mean_log: number }[]>`
            select samples, mean_log from job_type_stats where job_type = ${SHIFT_TYPE}`;
          if (row)
            fitTrace.push({ at_ms: elapsedMs, median_ms: Math.round(Math.exp(row.mean_log)), samples: round(row.samples, 1) });
        },
      },
    });
    Object.assign(data, run.data);
    const pick = (type: string, from: number, to: number) =>
      jobs.flatMap((j, i) => (j.type === type && j.atMs >= from && j.atMs < to ? [i] : []));
    const groups = {
      cold_first_minute: pick(COLD_TYPE, 0, minuteMs),
      cold_after_first_minute: pick(COLD_TYPE, minuteMs, Infinity),
      shift_minute_before_change: pick(SHIFT_TYPE, changeAtMs - minuteMs, changeAtMs),
      shift_first_minute_after_change: pick(SHIFT_TYPE, changeAtMs, changeAtMs + minuteMs),
      shift_second_minute_after_change: pick(SHIFT_TYPE, changeAtMs + minuteMs, Infinity),
    };
    const table = {} as Record<keyof typeof groups, Record<Poller, OutcomeSummary>>;
    for (const [name, indices] of Object.entries(groups) as [keyof typeof groups, number[]][]) {
      table[name] = {
        fixed: summarizeOutcome(run.outcomes.fixed, indices),
        backoff: summarizeOutcome(run.outcomes.backoff, indices),
        relay: summarizeOutcome(run.outcomes.relay, indices),
      };
    }
    data.groups = table;
    data.stored_fit_trace = fitTrace;
    const followedAt = fitTrace.find(
      (f) => f.at_ms >= changeAtMs && Math.abs(f.median_ms / (40_000 * scale) - 1) <= COLD_TARGETS.followWithin,
    )?.at_ms;
    const followMs = followedAt === undefined ? null : followedAt - changeAtMs;
    data.fit_followed_change_after_ms = followMs;

    const after = table.cold_after_first_minute;
    const vs = (g: Record<Poller, OutcomeSummary>, key: "p50" | "p99") =>
      ratio(g.relay.latency_ms[key], g.backoff.latency_ms[key]);
    const checks: Check[] = [
      atMost("cold, after 1st min: relay p50 / backoff", vs(after, "p50"), COLD_TARGETS.p50VsBackoff, "", 2),
      atMost(
        "cold, after 1st min: req/job / backoff",
        ratio(after.relay.requests_per_job, after.backoff.requests_per_job),
        COLD_TARGETS.requestsVsBackoff,
        "",
        2,
      ),
      atMost("cold, after 1st min: relay p99 / backoff", vs(after, "p99"), COLD_TARGETS.p99VsBackoff, "", 2),
      minGapCheck(run.relayMinGapMs),
      {
        name: "stored fit within 15% of the new median",
        value: followMs === null ? (ctx.target.kind === "pglite" ? "n/a" : "never") : `${fmt(followMs / 1000)} s after`,
        target: `≤ ${fmt((COLD_TARGETS.followMs * scale) / 1000)} s after the change`,
        met: followMs === null ? (ctx.target.kind === "pglite" ? null : false) : followMs <= COLD_TARGETS.followMs * scale,
      },
    ];
    const row = (g: Record<Poller, OutcomeSummary>) =>
      `backoff ${p50p99(g.backoff.latency_ms)} (${g.backoff.requests_per_job} req/job), relay ${p50p99(g.relay.latency_ms)} (${g.relay.requests_per_job})`;
    const result: ScenarioResult = {
      scenario: "cold",
      figures:
        `cold 1st min: ${row(table.cold_first_minute)}; after: ${row(after)}; shift p50 relay/backoff ` +
        `${fmt(vs(table.shift_minute_before_change, "p50"), 2)} before, ${fmt(vs(table.shift_first_minute_after_change, "p50"), 2)} ` +
        `then ${fmt(vs(table.shift_second_minute_after_change, "p50"), 2)} after`,
      checks,
      data,
    };
    const missing = Object.values(run.outcomes).reduce((n, o) => n + o.latencyMs.filter((v) => v === undefined).length, 0);
    if (!run.finished || missing > 0) result.error = `${missing} notifications missing after the tail timeout`;
    return result;
  } catch (err) {
    Object.assign(data, (err as { data?: object }).data, { stored_fit_trace: fitTrace });
    return { scenario: "cold", figures: "failed", checks: [], data, error: (err as Error).message };
  }
}
