import type { BaselineStats, ScheduleRequest } from "./baseline-pollers.js";
import { getJson, postJson, sleep, waitUntil } from "./http.js";
import { round, summarize, type Summary } from "./metrics.js";
import { startBaselinePollers, type Proc } from "./processes.js";
import { watchRegistrar } from "./relay-api.js";
import { fmt, type ScenarioContext } from "./scenario.js";
import { relayLogSummary, startStack, type Stack } from "./stack.js";
import { drawDuration, type JobMix, type Rng } from "./workload.js";
import { sql } from "drizzle-orm";
import { createDb } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { DEFAULT_TENANT_ID } from "../src/domain/tenant.js";
import { statsOfDurations } from "../src/scheduler/duration-stats.js";

export type Poller = "fixed" | "backoff" | "relay";
export const POLLERS: readonly Poller[] = ["fixed", "backoff", "relay"];
const WARMUP_JOBS = 100;
const PREFIX: Record<Poller, string> = { relay: "lr_", fixed: "lf_", backoff: "lb_" };

/** One job of the workload: it starts `atMs` after the run's start, and runs `durationMs`. */
export interface WorkloadJob {
  atMs: number;
  durationMs: number;
  type: string;
}

/** What one poller made of each job (by the job's index in the workload). */
export interface PollerOutcome {
  /** Terminal upstream → the app knows; undefined when it never knew. */
  latencyMs: (number | undefined)[];
  /** Upstream requests for the job. */
  requests: number[];
}

/** Latency, requests per job and misses of one poller over some of the jobs (all by default). */
export function summarizeOutcome(outcome: PollerOutcome, indices?: readonly number[]) {
  const picked = indices ?? outcome.requests.map((_, i) => i);
  const latency = picked.map((i) => outcome.latencyMs[i]).filter((v): v is number => v !== undefined);
  const requests = picked.reduce((sum, i) => sum + outcome.requests[i]!, 0) / Math.max(1, picked.length);
  return {
    jobs: picked.length,
    latency_ms: summarize(latency, 0),
    requests_per_job: round(requests, 2),
    missing: picked.length - latency.length,
  };
}
export type OutcomeSummary = ReturnType<typeof summarizeOutcome>;

/** "p50/p99 s" of a summary. */
export const p50p99 = (x: Summary) => `${fmt((x.p50 ?? NaN) / 1000, 2)}/${fmt((x.p99 ?? NaN) / 1000, 2)} s`;

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

export interface WorkloadOptions {
  scenario: string;
  jobs: readonly WorkloadJob[];
  /** Seeds the relay's stored fits with 300 earlier jobs of each type of this mix (undefined: a cold start). */
  history?: { mix: JobMix; rng: Rng } | undefined;
  leadMs: number;
  graceMs: number;
  tailTimeoutMs: number;
  /** Called every `everyMs` from the workload's start until every notification is in (ms since the start). */
  monitor?: { everyMs: number; sample(stack: Stack, elapsedMs: number): Promise<void> };
}

export interface WorkloadRun {
  outcomes: Record<Poller, PollerOutcome>;
  /** Every notification arrived before the tail timeout. */
  finished: boolean;
  relayMinGapMs: number | null;
  /** Registration, the relay's latency breakdown, the receiver's and the baselines' errors, the relay's logs. */
  data: Record<string, unknown>;
}

/**
 * Runs one workload through three pollers: every job exists three times with the same start and duration,
 * one copy polled by the reference page's fixed 3 s loop, one by plain backoff (1 s → ×1.5 → 10 s), one
 * watched through the relay (registered through its API right after the job starts). The relay is warmed
 * up first with a batch of short jobs (not measured).
 */
export async function runPollerWorkload(ctx: ScenarioContext, options: WorkloadOptions): Promise<WorkloadRun> {
  const { jobs } = options;
  const data: Record<string, unknown> = {};
  const stack = await startStack(ctx, { scenario: options.scenario, upstreamLatencyMs: 0, receiverLatencyMs: 0, relayEnv: {} });
  let pollers: { proc: Proc; url: string } | undefined;
  try {
    if (options.history) await seedHistory(stack.db, options.history.mix, options.history.rng);
    const [relayStart, pollersStart] = await Promise.allSettled([
      stack.startRelay(1),
      startBaselinePollers({ upstream: stack.fake.url, apiKey: stack.keys.rendleyApiKey }),
    ]);
    if (pollersStart.status === "fulfilled") pollers = pollersStart.value;
    if (relayStart.status === "rejected") throw relayStart.reason;
    if (pollersStart.status === "rejected") throw pollersStart.reason;
    const relay = relayStart.value;
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
    const t0 = Date.now() + options.leadMs;
    const startAt = jobs.map((j) => t0 + j.atMs);
    const spec = {
      count: jobs.length,
      start_at_ms: startAt,
      durations_ms: jobs.map((j) => j.durationMs),
      types: jobs.map((j) => j.type),
    };
    const ids: Record<Poller, string[]> = { relay: [], fixed: [], backoff: [] };
    for (const p of POLLERS) ids[p] = (await stack.createJobs({ ...spec, prefix: PREFIX[p] })).ids;
    const schedule: ScheduleRequest = {
      jobs: startAt.flatMap((at, i) => [
        { id: ids.fixed[i]!, mode: "fixed" as const, start_at_ms: at },
        { id: ids.backoff[i]!, mode: "backoff" as const, start_at_ms: at },
      ]),
    };
    await postJson(`${pollers!.url}/_bench/schedule`, schedule);
    if (Date.now() > t0) throw new Error("setting the workload up took longer than the lead time");

    let monitoring = true;
    const monitor = options.monitor
      ? (async () => {
          for (let next = t0; monitoring; next += options.monitor!.everyMs) {
            await sleep(next - Date.now());
            if (monitoring) await options.monitor!.sample(stack, Date.now() - t0).catch(() => {});
          }
        })()
      : Promise.resolve();

    ctx.log(`${fmt(jobs.length)} jobs ×3 arriving over ${fmt((Math.max(...startAt) - t0) / 1000)} s…`);
    const registrar = watchRegistrar(relay.url, stack.keys.relayApiKey, stack.callbackUrl);
    const lags: number[] = [];
    const registrations: Promise<void>[] = [];
    for (let i = 0; i < jobs.length; i++) {
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
      failed: jobs.length - lags.length,
      lag_ms: summarize(lags),
      request_ms: summarize(registrar.durationsMs),
      errors: registrar.errors,
    };

    const lastEnd = Math.max(...startAt.map((at, i) => at + jobs[i]!.durationMs));
    ctx.log(`waiting for the last job (ends in ${fmt((lastEnd - Date.now()) / 1000, 1)} s) and its notifications…`);
    await sleep(lastEnd - Date.now());
    const finished = await waitUntil(
      async () => {
        const [r, b] = await Promise.all([stack.receiverStats(), getJson<BaselineStats>(`${pollers!.url}/_bench/stats`)]);
        return r.jobs >= WARMUP_JOBS + lags.length && b.pending === 0 ? true : undefined;
      },
      options.tailTimeoutMs,
      200,
    );
    await sleep(options.graceMs);
    monitoring = false;
    await monitor;

    const [fake, received, baseline] = await Promise.all([
      stack.fakeStats({ jobs: true, interval_ms: 1000 }),
      stack.receiverStats(true),
      getJson<BaselineStats>(`${pollers!.url}/_bench/stats`),
    ]);
    const fakeJobs = fake.jobs!;
    const at = new Map(fakeJobs.ids.map((id, k) => [id, k]));
    const seenAt: Record<Poller, (id: string) => number | undefined> = {
      relay: (id) => received.job_first_at?.[id],
      fixed: (id) => baseline.seen.fixed[id],
      backoff: (id) => baseline.seen.backoff[id],
    };
    const outcomes = {} as Record<Poller, PollerOutcome>;
    for (const p of POLLERS) {
      outcomes[p] = { latencyMs: [], requests: [] };
      ids[p].forEach((id, i) => {
        const k = at.get(id)!;
        const terminal = fakeJobs.terminal_at[k];
        const seen = seenAt[p](id);
        outcomes[p].requests[i] = fakeJobs.polls[k]!;
        outcomes[p].latencyMs[i] = terminal == null || seen === undefined ? undefined : seen - terminal;
      });
    }
    // Where the relay's latency goes: upstream terminal → its first terminal poll → the callback.
    const detect: number[] = [];
    const deliver: number[] = [];
    for (const id of ids.relay) {
      const k = at.get(id)!;
      const terminal = fakeJobs.terminal_at[k];
      const polled = fakeJobs.first_terminal_poll_at[k];
      const got = received.job_first_at?.[id];
      if (terminal == null || polled == null || got === undefined) continue;
      detect.push(polled - terminal);
      deliver.push(got - polled);
    }
    const relayTag = fake.by_tag[String(relay.tag)];
    data.all_finished_in_time = finished === true;
    data.relay_breakdown_ms = { terminal_to_first_terminal_poll: summarize(detect, 0), poll_to_callback: summarize(deliver, 0) };
    data.relay_polls = relayTag ?? null;
    data.receiver = {
      duplicates: received.duplicates,
      bad_signatures: received.bad_signatures,
      duplicate_messages: received.duplicate_messages,
    };
    data.baseline_errors = baseline.errors;
    data.relay_logs = relayLogSummary(stack.relays);
    return { outcomes, finished: finished === true, relayMinGapMs: relayTag?.min_gap_ms ?? null, data };
  } catch (err) {
    (err as Error & { data?: unknown }).data = { ...data, relay_logs: relayLogSummary(stack.relays) };
    throw err;
  } finally {
    await pollers?.proc.stop(2_000);
    await stack.close();
  }
}
