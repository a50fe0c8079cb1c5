import { sql } from "drizzle-orm";
import type postgres from "postgres";
import { backendPids } from "../database.js";
import { request } from "undici";
import { controlAgent, sleep, waitUntil } from "../http.js";
import { cpuMeter, cpuSeconds, round } from "../metrics.js";
import { watchRegistrar } from "../relay-api.js";
import { createDb } from "../../src/db/client.js";
import { DEFAULT_TENANT_ID } from "../../src/domain/tenant.js";
import { atLeast, atMost, fmt, type ScenarioContext, type ScenarioResult } from "../scenario.js";
import { relayLogSummary, startStack, type Stack } from "../stack.js";
import { SATURATION_SETTINGS } from "./throughput.js";

/** Targets of the final table (2 cores, zero-latency upstream and receiver). */
export const BURST_TARGETS = { deliveriesPerSec: 3_000, cpuMsPerDelivery: 0.5 };

/** CPU seconds used so far by a set of processes that may grow (a pool opening a connection mid-burst). */
function cpuCounter(pids: () => Promise<number[]>) {
  const start = new Map<number, number>();
  return {
    async begin(): Promise<void> {
      for (const pid of await pids()) start.set(pid, cpuSeconds(pid) ?? 0);
    },
    /** Seconds used since `begin`; a process born meanwhile counts whole (its CPU all falls in the window). */
    async end(): Promise<number> {
      let used = 0;
      for (const pid of new Set([...start.keys(), ...(await pids())])) {
        const now = cpuSeconds(pid);
        if (now !== null) used += now - (start.get(pid) ?? 0);
      }
      return used;
    },
  };
}

/** The relay's batch counters (claims and writes of both loops: `<metric> <loop>` → value), from its /metrics. */
async function batchCounters(relayUrl: string): Promise<Map<string, number>> {
  const res = await request(`${relayUrl}/metrics`, { dispatcher: controlAgent });
  const text = await res.body.text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^rendley_relay_(claim|write)_batch_size_(sum|count)\{loop="(\w+)"\} (\S+)$/gm)) {
    out.set(`${m[1]}_${m[2]} ${m[3]}`, Number(m[4]));
  }
  return out;
}

/** Statements and rows per statement of each loop between two readings of `batchCounters`. */
function batchDelta(a: Map<string, number>, b: Map<string, number>) {
  const d = (key: string) => (b.get(key) ?? 0) - (a.get(key) ?? 0);
  const of = (kind: string, loop: string) => ({
    statements: d(`${kind}_count ${loop}`),
    rows: d(`${kind}_sum ${loop}`),
    rows_per_statement: d(`${kind}_count ${loop}`) ? round(d(`${kind}_sum ${loop}`) / d(`${kind}_count ${loop}`), 1) : null,
  });
  return {
    scheduler_claims: of("claim", "scheduler"),
    scheduler_writes: of("write", "scheduler"),
    delivery_claims: of("claim", "delivery"),
    delivery_writes: of("write", "delivery"),
  };
}

/** `count` watches on `jobIds`, written as rows, due over the next second (the API's registration rate is not measured here). */
async function insertWatches(url: string, round: number, jobIds: readonly string[], callbackUrl: string): Promise<void> {
  const db = await createDb({ databaseUrl: url, dataDir: "memory://", maxConnections: 1 });
  try {
    const ids = sql`jsonb_array_elements_text(${JSON.stringify(jobIds)}::jsonb) with ordinality as a(job_id, n)`;
    const p = `pol_burst${round}_`;
    const w = `wch_burst${round}_`;
    await db.rows(sql`
      insert into polls (id, tenant_id, job_id, status, next_poll_at, interval_ms, created_at, updated_at)
      select ${p} || n, ${DEFAULT_TENANT_ID}, job_id, 'active', now() + random() * interval '1 second', 1000, now(), now()
      from ${ids}`);
    await db.rows(sql`
      insert into watches (id, tenant_id, poll_id, job_id, callback_url, events, status, created_at, updated_at)
      select ${w} || n, ${DEFAULT_TENANT_ID}, ${p} || n, job_id, ${callbackUrl},
             array['job.completed', 'job.failed', 'job.canceled'], 'watching', now(), now()
      from ${ids}`);
  } finally {
    await db.close();
  }
}

interface Round {
  deliveries_per_sec: number | null;
  warmup_polls_per_sec: number;
  seen_p50_after_ms: number | null;
  seen_last_after_ms: number | null;
  first_callback_after_ms: number | null;
  last_callback_after_ms: number | null;
  relay_cpu_ms_per_delivery: number;
  postgres_cpu_ms_per_delivery: number | null;
  cpu_ms_per_delivery: number;
  cpu_pct_of_one_core: Record<string, number | null>;
  batches: ReturnType<typeof batchDelta>;
  sent_without_claim_pct: number;
}

/**
 * One burst: `watches` new watches on jobs polled every second, a warm-up, then every one of those jobs
 * completes at once; from that moment to the last callback: deliveries/s and relay + Postgres CPU per delivery.
 */
async function burstOnce(
  stack: Stack,
  o: { round: number; watches: number; warmupMs: number; timeoutMs: number; relayUrl: string; sql: postgres.Sql | undefined },
): Promise<Round> {
  const jobs = await stack.createJobs({ count: o.watches, never_finish: true, prefix: `job_b${o.round}_` });
  if (stack.db.url) await insertWatches(stack.db.url, o.round, jobs.ids, stack.callbackUrl);
  else {
    const registrar = watchRegistrar(o.relayUrl, stack.keys.relayApiKey, stack.callbackUrl);
    const reg = await registrar.registerAll(jobs.ids, 50);
    await registrar.close();
    if (reg.failed > 0) throw new Error(`${reg.failed} registrations failed: ${registrar.errors.join("; ")}`);
  }
  const warmupFrom = Date.now() + o.warmupMs / 2;
  await sleep(o.warmupMs);
  // Polls/s over the second half of the warm-up: below `watches`/s the relay does not keep up with the cadence,
  // and the finishes are seen later than one interval after them.
  const warm = await stack.fakeStats({ since: warmupFrom, until: Date.now() });
  const before = await stack.receiverStats();
  const counters = await batchCounters(o.relayUrl);
  const relayPid = stack.relays[0]!.proc.pid;
  const relayCpu = cpuCounter(async () => [relayPid]);
  const sql = o.sql;
  const pgCpu = sql ? cpuCounter(() => backendPids(sql)) : undefined;
  await Promise.all([relayCpu.begin(), pgCpu?.begin()]);
  // Postgres in the meter too, so that `others_pct` is only what else ran on the machine meanwhile.
  const meter = cpuMeter({
    relay: [relayPid],
    postgres: sql ? await backendPids(sql) : [],
    fake: [stack.fake.proc.pid],
    receiver: [stack.receiver.proc.pid],
  });
  const { at } = await stack.completeJobs({ ids: jobs.ids });
  const all = await waitUntil(
    async () => {
      const s = await stack.receiverStats();
      return s.jobs >= before.jobs + o.watches ? s : undefined;
    },
    o.timeoutMs,
    20,
  );
  const [relaySeconds, pgSeconds] = await Promise.all([relayCpu.end(), pgCpu?.end()]);
  const cpu = meter.stop();
  const batches = batchDelta(counters, await batchCounters(o.relayUrl));
  if (!all)
    throw new Error(`round ${o.round}: only ${(await stack.receiverStats()).jobs - before.jobs} of ${o.watches} callbacks`);
  const firsts = (await stack.receiverStats(true)).job_first_at ?? {};
  const firstAt = Math.min(...jobs.ids.map((id) => firsts[id] ?? Infinity));
  const seen = (await stack.fakeStats({ jobs: true, prefix: `job_b${o.round}_` })).jobs?.first_terminal_poll_at ?? [];
  const seenAfter = seen.flatMap((t) => (t === null ? [] : [t - at])).sort((a, b) => a - b);
  const relayMs = (1000 * relaySeconds) / o.watches;
  const pgMs = pgSeconds === undefined ? null : (1000 * pgSeconds) / o.watches;
  return {
    deliveries_per_sec: all.last_at ? round(o.watches / ((all.last_at - at) / 1000), 0) : null,
    warmup_polls_per_sec: round(warm.total_polls / ((warm.until - warm.since) / 1000), 0),
    // When the relay's polls saw the jobs finished (the first poll after the finish), p50 and last.
    seen_p50_after_ms: seenAfter.length ? seenAfter[Math.floor(seenAfter.length / 2)]! : null,
    seen_last_after_ms: seenAfter.at(-1) ?? null,
    first_callback_after_ms: Number.isFinite(firstAt) ? firstAt - at : null,
    last_callback_after_ms: all.last_at ? all.last_at - at : null,
    relay_cpu_ms_per_delivery: round(relayMs, 3),
    postgres_cpu_ms_per_delivery: pgMs === null ? null : round(pgMs, 3),
    cpu_ms_per_delivery: round(relayMs + (pgMs ?? 0), 3),
    cpu_pct_of_one_core: cpu,
    // Claims and batch writes of both loops over the burst; a delivery created leased needs no delivery claim.
    batches,
    sent_without_claim_pct: round(100 * Math.max(0, 1 - batches.delivery_claims.rows / o.watches), 0),
  };
}

const median = (values: readonly number[]): number | null => {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * A burst of finishes: N watches on jobs polled every second (zero-latency upstream and receiver) all finish at
 * the same moment. Measures deliveries/s from the finish to the last callback received, and the relay's plus
 * its Postgres backends' CPU per delivered job (the terminal poll, the fan-out write, the send, the write-back).
 * Several rounds on one relay, fresh watches each; the figures are the rounds' medians.
 */
export async function burst(ctx: ScenarioContext): Promise<ScenarioResult> {
  const size = ctx.quick
    ? { watches: 1_000, rounds: 1, warmupMs: 2_000, timeoutMs: 30_000 }
    : { watches: 5_000, rounds: 3, warmupMs: 5_000, timeoutMs: 120_000 };
  const settings = SATURATION_SETTINGS;
  const data: Record<string, unknown> = { size, relay_settings: settings };
  const stack = await startStack(ctx, { scenario: "burst", upstreamLatencyMs: 0, receiverLatencyMs: 0, relayEnv: settings });
  try {
    const relay = await stack.startRelay(1);
    const rounds: Round[] = [];
    data.rounds = rounds;
    for (let r = 1; r <= size.rounds; r++) {
      ctx.log(`round ${r}/${size.rounds}: ${fmt(size.watches)} watches, ${size.warmupMs / 1000} s warm-up, then all finish…`);
      const got = await burstOnce(stack, { round: r, ...size, relayUrl: relay.url, sql: stack.db.sql });
      rounds.push(got);
      ctx.log(
        `${fmt(got.deliveries_per_sec)} deliveries/s, ${fmt(got.cpu_ms_per_delivery, 3)} ms CPU per delivery ` +
          `(relay ${fmt(got.relay_cpu_ms_per_delivery, 3)}, Postgres ${fmt(got.postgres_cpu_ms_per_delivery, 3)}); ` +
          `warm-up ${fmt(got.warmup_polls_per_sec)} polls/s, all seen finished after ${fmt(got.seen_last_after_ms)} ms, ` +
          `last callback after ${fmt(got.last_callback_after_ms)} ms`,
      );
    }
    const received = await stack.receiverStats();
    const pick = (f: (r: Round) => number | null) => median(rounds.flatMap((r) => (f(r) === null ? [] : [f(r)!])));
    const perSec = pick((r) => r.deliveries_per_sec);
    const cpuMs = pick((r) => r.cpu_ms_per_delivery);
    const relayMs = pick((r) => r.relay_cpu_ms_per_delivery);
    const pgMs = pick((r) => r.postgres_cpu_ms_per_delivery);
    const unclaimed = pick((r) => r.sent_without_claim_pct);
    data.median = {
      deliveries_per_sec: perSec,
      cpu_ms_per_delivery: cpuMs,
      relay_cpu_ms_per_delivery: relayMs,
      postgres_cpu_ms_per_delivery: pgMs,
      sent_without_claim_pct: unclaimed,
    };
    data.duplicates = received.duplicates;
    data.bad_signatures = received.bad_signatures;
    data.relay_logs = relayLogSummary(stack.relays);
    const result: ScenarioResult = {
      scenario: "burst",
      figures:
        `${fmt(size.watches)} finishes: ${fmt(perSec)} deliveries/s, ${fmt(cpuMs, 3)} ms CPU per delivery ` +
        `(relay ${fmt(relayMs, 3)} + Postgres ${fmt(pgMs, 3)}), ${fmt(unclaimed)}% sent without a claim, ` +
        `${received.duplicates} duplicates` +
        (rounds.length > 1 ? ` (median of ${rounds.length})` : ""),
      checks: [
        atLeast("deliveries/s", perSec, BURST_TARGETS.deliveriesPerSec),
        atMost("CPU ms/delivery", cpuMs, BURST_TARGETS.cpuMsPerDelivery, "", 3),
      ],
      data,
    };
    if (received.bad_signatures > 0) result.error = `${received.bad_signatures} callbacks failed verification`;
    return result;
  } catch (err) {
    data.relay_logs = relayLogSummary(stack.relays);
    return { scenario: "burst", figures: "failed", checks: [], data, error: (err as Error).message };
  } finally {
    await stack.close();
  }
}
