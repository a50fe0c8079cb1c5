import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { p50p99, runPollerWorkload, summarizeOutcome, type Poller } from "../latency-workload.js";
import { ratio } from "../metrics.js";
import { atMost, fmt, type Check, type ScenarioContext, type ScenarioResult } from "../scenario.js";
import { cdfSvg } from "../svg.js";
import { DEFAULT_MIX, drawJob, poissonArrivals, scaleMix, seededRng } from "../workload.js";

const SVG_PATH = fileURLToPath(new URL("../results/latency-cdf.svg", import.meta.url));

/** Targets: the relay against plain backoff on the same workload. */
export const LATENCY_TARGETS = { p50VsBackoff: 0.55, requestsVsBackoff: 1.1, minGapMs: 1_000 };

/**
 * Notify latency (the moment the job turned terminal upstream → the receiver got the callback, or the baseline
 * poller got the terminal answer) and upstream requests per job, for the reference 3 s loop, plain backoff and
 * the relay, on one workload (the default mix), with the history a relay in use has.
 */
export async function latency(ctx: ScenarioContext): Promise<ScenarioResult> {
  const size = ctx.quick
    ? // Durations ×0.1 with the tail capped at +0.5σ so the run ends in seconds; the pollers keep their real cadences.
      { watches: 250, spanMs: 2_000, mix: scaleMix(DEFAULT_MIX, 0.1, 0.5), leadMs: 800, graceMs: 500, tailTimeoutMs: 30_000 }
    : { watches: 10_000, spanMs: 120_000, mix: DEFAULT_MIX, leadMs: 2_000, graceMs: 3_000, tailTimeoutMs: 180_000 };
  const data: Record<string, unknown> = { size };
  const rng = seededRng(ctx.seed * 7919 + 1);
  const arrivals = poissonArrivals(rng, size.watches, size.spanMs);
  const jobs = arrivals.map((atMs) => ({ atMs, ...drawJob(rng, size.mix) }));
  // A relay in use has history: what it would have learned from 300 earlier jobs of each type (the
  // BENCH_LATENCY_HISTORY=none run shows a first start, learning from nothing; the cold scenario measures that).
  const seeded = process.env.BENCH_LATENCY_HISTORY !== "none";
  data.history = seeded ? "300 earlier jobs per type of the same mix" : "none: the relay learns during the run";
  try {
    const run = await runPollerWorkload(ctx, {
      scenario: "latency",
      jobs,
      history: seeded ? { mix: size.mix, rng: seededRng(ctx.seed * 104_729 + 3) } : undefined,
      leadMs: size.leadMs,
      graceMs: size.graceMs,
      tailTimeoutMs: size.tailTimeoutMs,
    });
    Object.assign(data, run.data);
    const byType = (p: Poller) => {
      const types = [...new Set(jobs.map((j) => j.type))];
      return Object.fromEntries(
        types.map((type) => {
          const s = summarizeOutcome(
            run.outcomes[p],
            jobs.flatMap((j, i) => (j.type === type ? [i] : [])),
          );
          return [type, { n: s.jobs - s.missing, p50_ms: s.latency_ms.p50, p99_ms: s.latency_ms.p99 }];
        }),
      );
    };
    const summary = (p: Poller) => ({ ...summarizeOutcome(run.outcomes[p]), by_type: byType(p) });
    const fixed = summary("fixed");
    const backoff = summary("backoff");
    const relayS = summary("relay");
    data.pollers = { fixed, backoff, relay: relayS };
    // How each poller did over the arrival window (tenths by arrival): the relay learns as jobs finish.
    data.by_arrival_tenth = Object.fromEntries(
      (["backoff", "relay"] as const).map((p) => [
        p,
        Array.from({ length: 10 }, (_, t) => {
          const s = summarizeOutcome(
            run.outcomes[p],
            jobs.flatMap((_, i) => (Math.min(9, Math.floor((10 * i) / jobs.length)) === t ? [i] : [])),
          );
          return { p50_ms: s.latency_ms.p50, p99_ms: s.latency_ms.p99, requests_per_job: s.requests_per_job };
        }),
      ]),
    );

    const secs = (p: Poller) => run.outcomes[p].latencyMs.flatMap((ms) => (ms === undefined ? [] : [ms / 1000]));
    writeFileSync(
      SVG_PATH,
      cdfSvg({
        title: `Notify latency, ${fmt(size.watches)} jobs${ctx.quick ? " (quick run: durations ×0.1)" : ""}`,
        xLabel: "seconds from the job turning terminal upstream to the app knowing",
        yLabel: "fraction of jobs",
        unit: "s",
        series: [
          { name: `fixed 3 s loop, ${fixed.requests_per_job} req/job`, color: "#d62728", values: secs("fixed") },
          { name: `plain backoff, ${backoff.requests_per_job} req/job`, color: "#ff7f0e", values: secs("backoff") },
          { name: `relay, ${relayS.requests_per_job} req/job`, color: "#1f77b4", values: secs("relay") },
        ],
      }),
    );
    data.svg = "bench/results/latency-cdf.svg";

    const checks: Check[] = [
      atMost(
        "relay p50 / backoff p50",
        ratio(relayS.latency_ms.p50, backoff.latency_ms.p50),
        LATENCY_TARGETS.p50VsBackoff,
        "",
        2,
      ),
      atMost(
        "relay req/job / backoff",
        ratio(relayS.requests_per_job, backoff.requests_per_job),
        LATENCY_TARGETS.requestsVsBackoff,
        "",
        2,
      ),
      atMost("relay p99 / backoff p99", ratio(relayS.latency_ms.p99, backoff.latency_ms.p99), 1, "", 2),
      minGapCheck(run.relayMinGapMs),
    ];
    const result: ScenarioResult = {
      scenario: "latency",
      figures:
        `p50/p99 fixed ${p50p99(fixed.latency_ms)} (${fixed.requests_per_job} req/job), backoff ${p50p99(backoff.latency_ms)} ` +
        `(${backoff.requests_per_job}), relay ${p50p99(relayS.latency_ms)} (${relayS.requests_per_job}); relay min gap ${fmt(run.relayMinGapMs)} ms`,
      checks,
      data,
    };
    const missing = fixed.missing + backoff.missing + relayS.missing;
    if (!run.finished || missing > 0) result.error = `${missing} notifications missing after the tail timeout`;
    return result;
  } catch (err) {
    Object.assign(data, (err as { data?: object }).data);
    return { scenario: "latency", figures: "failed", checks: [], data, error: (err as Error).message };
  }
}

/** Two polls of one relay-watched job never less than the minimum interval apart. */
export function minGapCheck(minGapMs: number | null): Check {
  return {
    name: "relay min poll gap",
    value: minGapMs == null ? "n/a" : `${fmt(minGapMs)} ms`,
    target: `≥ ${fmt(LATENCY_TARGETS.minGapMs)} ms`,
    met: minGapMs == null ? null : minGapMs >= LATENCY_TARGETS.minGapMs,
  };
}
