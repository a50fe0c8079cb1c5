import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BaselineStats, ScheduleRequest } from "../baseline-pollers.js";
import { getJson, postJson, sleep, waitUntil } from "../http.js";
import { ratio, round, summarize, type Summary } from "../metrics.js";
import { startBaselinePollers, type Proc } from "../processes.js";
import { watchRegistrar } from "../relay-api.js";
import { atMost, fmt, type Check, type ScenarioContext, type ScenarioResult } from "../scenario.js";
import { relayLogSummary, startStack } from "../stack.js";
import { cdfSvg } from "../svg.js";
import { DEFAULT_MIX, drawDuration, drawJob, poissonArrivals, scaleMix, seededRng, type JobMix, type Rng } from "../workload.js";
import { sql } from "drizzle-orm";
import { createDb } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrate.js";
import { DEFAULT_TENANT_ID } from "../../src/domain/tenant.js";
import { statsOfDurations } from "../../src/scheduler/duration-stats.js";

const SVG_PATH = fileURLToPath(new URL("../results/latency-cdf.svg", import.meta.url));

/** Targets: the relay against plain backoff on the same workload. */
export const LATENCY_TARGETS = { p50VsBackoff: 0.55, requestsVsBackoff: 1.1, minGapMs: 1_000 };

/**
 * Writes job_type_stats as a relay would store them after watching 300 jobs of each type of `mix` finish,
 * before the relay's first start (migrating the database first).
 */
async function seedHistory(
  bench: { url: string | undefined; dataDir: string | undefined },
  mix: JobMix,
  rng: Rng,
): Promise<void> {
  const db = await createDb({ databaseUrl: bench.url, dataDir: bench.dataDir ?? "memory://", maxConnections: 1 });
  try {
    await migrate(db);
    await db.rows(sql`insert into tenants (id, name) values (${DEFAULT_TENANT_ID}, 'default') on conflict (id) do nothing`);
    for (const [type, dist] of Object.entries(mix)) {
      const stats = statsOfDurations(Array.from({ length: 300 }, () => drawDuration(rng, dist)));
      await db.rows(sql`
        insert into job_type_stats (tenant_id, job_type, samples, mean_log, var_log)
        values (${DEFAULT_TENANT_ID}, ${type}, ${stats.samples}, ${stats.meanLog}, ${stats.varLog})`);
    }
  } finally {
    await db.close();
  }
}

type Poller = "fixed" | "backoff" | "relay";
const WARMUP_JOBS = 100;
const PREFIX: Record<Poller, string> = { relay: "lr_", fixed: "lf_", backoff: "lb_" };

/**
 * Notify latency (the moment the job turned terminal upstream → the receiver got the callback, or the baseline
 * poller got the terminal answer) and upstream requests per job, for the reference 3 s loop, plain backoff and
 * the relay, on one workload: every job exists three times with the same start and duration, one copy each.
 */
export async function latency(ctx: ScenarioContext): Promise<ScenarioResult> {
  const size = ctx.quick
    ? // Durations ×0.1 with the tail capped at +0.5σ so the run ends in seconds; the pollers keep their real cadences.
      { watches: 250, spanMs: 2_000, mix: scaleMix(DEFAULT_MIX, 0.1, 0.5), leadMs: 800, graceMs: 500, tailTimeoutMs: 30_000 }
    : { watches: 10_000, spanMs: 120_000, mix: DEFAULT_MIX, leadMs: 2_000, graceMs: 3_000, tailTimeoutMs: 180_000 };
  const data: Record<string, unknown> = { size };
  const rng = seededRng(ctx.seed * 7919 + 1);
  const arrivals = poissonArrivals(rng, size.watches, size.spanMs);
  const drawn = arrivals.map(() => drawJob(rng, size.mix));

  const stack = await startStack(ctx, { scenario: "latency", upstreamLatencyMs: 0, receiverLatencyMs: 0, relayEnv: {} });
  let pollers: { proc: Proc; url: string } | undefined;
  try {
    // A relay in use has history: what it would have learned from 300 earlier jobs of each type (the
    // BENCH_LATENCY_HISTORY=none run shows a first start, learning from nothing).
    const history = process.env.BENCH_LATENCY_HISTORY === "none" ? "none" : "learned";
    data.history = history === "none" ? "none: the relay learns during the run" : "300 earlier jobs per type of the same mix";
    if (history === "learned") await seedHistory(stack.db, size.mix, seededRng(ctx.seed * 104_729 + 3));
    const [relayStart, pollersStart] = await Promise.allSettled([
      stack.startRelay(1),
      startBaselinePollers({ upstream: stack.fake.url, apiKey: stack.keys.rendleyApiKey }),
    ]);
    if (pollersStart.status === "fulfilled") pollers = pollersStart.value;
    if (relayStart.status === "rejected") throw relayStart.reason;
    if (pollersStart.status === "rejected") throw pollersStart.reason;
    const relay = relayStart.value;
    // A relay in production is warm: a first batch of short jobs through registration, polling and delivery
    // (not measured; the receiver's count starts after them).
    const warm = await stack.createJobs({
      count: WARMUP_JOBS,
      durations_ms: Array(WARMUP_JOBS).fill(200),
      types: Array(WARMUP_JOBS).fill("warmup"),
      prefix: "lw_",
    });
    const warmRegistrar = watchRegistrar(relay.url, stack.keys.relayApiKey, stack.callbackUrl);
    await warmRegistrar.registerAll(warm.ids, 10);
    await warmRegistrar.close();
    await waitUntil(async () => ((await stack.receiverStats()).jobs >= WARMUP_JOBS ? true : undefined), 30_000, 100);
    const t0 = Date.now() + size.leadMs;
    const startAt = arrivals.map((a) => t0 + a);
    const spec = {
      count: size.watches,
      start_at_ms: startAt,
      durations_ms: drawn.map((d) => d.durationMs),
      types: drawn.map((d) => d.type),
    };
    const ids: Record<Poller, string[]> = { relay: [], fixed: [], backoff: [] };
    for (const p of ["relay", "fixed", "backoff"] as const) ids[p] = (await stack.createJobs({ ...spec, prefix: PREFIX[p] })).ids;
    const schedule: ScheduleRequest = {
      jobs: startAt.flatMap((at, i) => [
        { id: ids.fixed[i]!, mode: "fixed" as const, start_at_ms: at },
        { id: ids.backoff[i]!, mode: "backoff" as const, start_at_ms: at },
      ]),
    };
    await postJson(`${pollers!.url}/_bench/schedule`, schedule);
    if (Date.now() > t0) throw new Error("setting the workload up took longer than the lead time");

    // The app registers each watch right after starting its job.
    ctx.log(`${fmt(size.watches)} jobs ×3 arriving over ${size.spanMs / 1000} s…`);
    const registrar = watchRegistrar(relay.url, stack.keys.relayApiKey, stack.callbackUrl);
    const lags: number[] = [];
    const registrations: Promise<void>[] = [];
    for (let i = 0; i < size.watches; i++) {
      const wait = startAt[i]! - Date.now();
      if (wait > 1) await sleep(wait);
      registrations.push(
        registrar.register(ids.relay[i]!).then((ok) => {
          if (ok) lags.push(Date.now() - startAt[i]!);
        }),
      );
    }
    await Promise.all(registrations);
    await registrar.close();
    data.registration = {
      registered: lags.length,
      failed: size.watches - lags.length,
      lag_ms: summarize(lags),
      request_ms: summarize(registrar.durationsMs),
      errors: registrar.errors,
    };

    const lastEnd = Math.max(...startAt.map((at, i) => at + drawn[i]!.durationMs));
    ctx.log(`waiting for the last job (ends in ${fmt((lastEnd - Date.now()) / 1000, 1)} s) and its notifications…`);
    await sleep(lastEnd - Date.now());
    const finished = await waitUntil(
      async () => {
        const [r, b] = await Promise.all([stack.receiverStats(), getJson<BaselineStats>(`${pollers!.url}/_bench/stats`)]);
        return r.jobs >= WARMUP_JOBS + lags.length && b.pending === 0 ? true : undefined;
      },
      size.tailTimeoutMs,
      200,
    );
    await sleep(size.graceMs);

    const [fake, received, baseline] = await Promise.all([
      stack.fakeStats({ jobs: true, interval_ms: 1000 }),
      stack.receiverStats(true),
      getJson<BaselineStats>(`${pollers!.url}/_bench/stats`),
    ]);
    const jobs = fake.jobs!;
    const at = new Map(jobs.ids.map((id, k) => [id, k]));
    const seenAt: Record<Poller, (id: string) => number | undefined> = {
      relay: (id) => received.job_first_at?.[id],
      fixed: (id) => baseline.seen.fixed[id],
      backoff: (id) => baseline.seen.backoff[id],
    };
    const perPoller = {} as Record<
      Poller,
      { latencyMs: number[]; requests: number[]; missing: number; byType: Record<string, number[]> }
    >;
    for (const p of ["fixed", "backoff", "relay"] as const) {
      const out = { latencyMs: [] as number[], requests: [] as number[], missing: 0, byType: {} as Record<string, number[]> };
      ids[p].forEach((id, i) => {
        const k = at.get(id)!;
        out.requests.push(jobs.polls[k]!);
        const terminal = jobs.terminal_at[k];
        const seen = seenAt[p](id);
        if (terminal == null || seen === undefined) return void out.missing++;
        out.latencyMs.push(seen - terminal);
        (out.byType[drawn[i]!.type] ??= []).push(seen - terminal);
      });
      perPoller[p] = out;
    }
    // How each poller did over the arrival window (tenths by arrival): the relay learns as jobs finish.
    data.by_arrival_tenth = Object.fromEntries(
      (["backoff", "relay"] as const).map((p) => {
        const tenths = Array.from({ length: 10 }, () => ({ latency: [] as number[], requests: [] as number[] }));
        ids[p].forEach((id, i) => {
          const k = at.get(id)!;
          const terminal = jobs.terminal_at[k];
          const seen = seenAt[p](id);
          const tenth = tenths[Math.min(9, Math.floor((10 * i) / ids[p].length))]!;
          tenth.requests.push(jobs.polls[k]!);
          if (terminal != null && seen !== undefined) tenth.latency.push(seen - terminal);
        });
        return [
          p,
          tenths.map((t) => ({
            p50_ms: summarize(t.latency, 0).p50,
            p99_ms: summarize(t.latency, 0).p99,
            requests_per_job: round(t.requests.reduce((a, b) => a + b, 0) / Math.max(1, t.requests.length), 2),
          })),
        ];
      }),
    );
    // Where the relay's latency goes: upstream terminal → its first terminal poll → the callback.
    const detect: number[] = [];
    const deliver: number[] = [];
    for (const id of ids.relay) {
      const k = at.get(id)!;
      const terminal = jobs.terminal_at[k];
      const polled = jobs.first_terminal_poll_at[k];
      const got = received.job_first_at?.[id];
      if (terminal == null || polled == null || got === undefined) continue;
      detect.push(polled - terminal);
      deliver.push(got - polled);
    }

    const summary = (p: Poller) => {
      const s = perPoller[p];
      const requests = s.requests.reduce((a, b) => a + b, 0) / Math.max(1, s.requests.length);
      return {
        latency_ms: summarize(s.latencyMs, 0),
        requests_per_job: round(requests, 2),
        missing: s.missing,
        by_type: Object.fromEntries(
          Object.entries(s.byType).map(([type, v]) => [
            type,
            { n: v.length, p50_ms: summarize(v, 0).p50, p99_ms: summarize(v, 0).p99 },
          ]),
        ),
      };
    };
    const fixed = summary("fixed");
    const backoff = summary("backoff");
    const relayS = summary("relay");
    const relayTag = fake.by_tag[String(relay.tag)];
    data.all_finished_in_time = finished === true;
    data.pollers = { fixed, backoff, relay: relayS };
    data.relay_breakdown_ms = { terminal_to_first_terminal_poll: summarize(detect, 0), poll_to_callback: summarize(deliver, 0) };
    data.relay_polls = relayTag ?? null;
    data.receiver = {
      duplicates: received.duplicates,
      bad_signatures: received.bad_signatures,
      duplicate_messages: received.duplicate_messages,
    };
    data.baseline_errors = baseline.errors;
    data.relay_logs = relayLogSummary(stack.relays);

    const secs = (v: number[]) => v.map((ms) => ms / 1000);
    writeFileSync(
      SVG_PATH,
      cdfSvg({
        title: `Notify latency, ${fmt(size.watches)} jobs${ctx.quick ? " (quick run: durations ×0.1)" : ""}`,
        xLabel: "seconds from the job turning terminal upstream to the app knowing",
        yLabel: "fraction of jobs",
        unit: "s",
        series: [
          {
            name: `fixed 3 s loop, ${fixed.requests_per_job} req/job`,
            color: "#d62728",
            values: secs(perPoller.fixed.latencyMs),
          },
          {
            name: `plain backoff, ${backoff.requests_per_job} req/job`,
            color: "#ff7f0e",
            values: secs(perPoller.backoff.latencyMs),
          },
          { name: `relay, ${relayS.requests_per_job} req/job`, color: "#1f77b4", values: secs(perPoller.relay.latencyMs) },
        ],
      }),
    );
    data.svg = "bench/results/latency-cdf.svg";

    const s = (x: Summary) => `${fmt((x.p50 ?? NaN) / 1000, 2)}/${fmt((x.p99 ?? NaN) / 1000, 2)} s`;
    const b50 = backoff.latency_ms.p50;
    const checks: Check[] = [
      atMost("relay p50 / backoff p50", ratio(relayS.latency_ms.p50, b50), LATENCY_TARGETS.p50VsBackoff, "", 2),
      atMost(
        "relay req/job / backoff",
        ratio(relayS.requests_per_job, backoff.requests_per_job),
        LATENCY_TARGETS.requestsVsBackoff,
        "",
        2,
      ),
      atMost("relay p99 / backoff p99", ratio(relayS.latency_ms.p99, backoff.latency_ms.p99), 1, "", 2),
      {
        name: "relay min poll gap",
        value: relayTag?.min_gap_ms == null ? "n/a" : `${fmt(relayTag.min_gap_ms)} ms`,
        target: `≥ ${fmt(LATENCY_TARGETS.minGapMs)} ms`,
        met: relayTag?.min_gap_ms == null ? null : relayTag.min_gap_ms >= LATENCY_TARGETS.minGapMs,
      },
    ];
    const result: ScenarioResult = {
      scenario: "latency",
      figures:
        `p50/p99 fixed ${s(fixed.latency_ms)} (${fixed.requests_per_job} req/job), backoff ${s(backoff.latency_ms)} ` +
        `(${backoff.requests_per_job}), relay ${s(relayS.latency_ms)} (${relayS.requests_per_job}); relay min gap ${fmt(relayTag?.min_gap_ms)} ms`,
      checks,
      data,
    };
    const missing = fixed.missing + backoff.missing + relayS.missing;
    if (finished !== true || missing > 0) result.error = `${missing} notifications missing after the tail timeout`;
    return result;
  } catch (err) {
    data.relay_logs = relayLogSummary(stack.relays);
    return { scenario: "latency", figures: "failed", checks: [], data, error: (err as Error).message };
  } finally {
    await pollers?.proc.stop(2_000);
    await stack.close();
  }
}
