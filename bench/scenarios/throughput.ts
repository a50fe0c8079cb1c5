import { backendPids, pgCounters, pgDelta } from "../database.js";
import { sleep, waitUntil } from "../http.js";
import { cpuMeter, ratio, round } from "../metrics.js";
import { watchRegistrar } from "../relay-api.js";
import { createDb } from "../../src/db/client.js";
import { insertActive } from "../fixtures.js";
import { atLeast, fmt, type ScenarioContext, type ScenarioResult } from "../scenario.js";
import { relayLogSummary, startStack } from "../stack.js";

/** A relay set to go as fast as it can: every job due every second, wide concurrency (throughput and burst). */
export const SATURATION_SETTINGS = {
  POLL_MIN_INTERVAL_MS: "1000",
  POLL_MAX_INTERVAL_MS: "1000",
  POLL_CONCURRENCY: "256",
  DELIVERY_CONCURRENCY: "256",
  DELIVERY_PER_ORIGIN_CONCURRENCY: "256",
};

/** Targets of the final table. */
export const THROUGHPUT_TARGETS = { pollsPerSec: 4_000, deliveriesPerSec: 3_000 };

/**
 * Sustained poll rate and delivery rate of one relay with zero-latency upstream and receiver: N watches all due
 * every second (jobs that do not finish), a measured window after a warm-up, then every job completes at once
 * and the time until the receiver holds all N callbacks gives deliveries/s.
 */
export async function throughput(ctx: ScenarioContext): Promise<ScenarioResult> {
  const size = ctx.quick
    ? { watches: 2_000, viaApi: 200, warmupMs: 1_500, windowMs: 3_000, deliverTimeoutMs: 30_000 }
    : { watches: 20_000, viaApi: 2_000, warmupMs: 10_000, windowMs: 30_000, deliverTimeoutMs: 300_000 };
  const settings = SATURATION_SETTINGS;
  const data: Record<string, unknown> = { size, relay_settings: settings };
  const stack = await startStack(ctx, { scenario: "throughput", upstreamLatencyMs: 0, receiverLatencyMs: 0, relayEnv: settings });
  try {
    const relay = await stack.startRelay(1);
    const jobs = await stack.createJobs({ count: size.watches, never_finish: true });
    // The first watches through the API (its registration rate is a figure of its own), the rest as rows:
    // registering 20,000 through the API would take minutes and is not what this scenario measures.
    // (PGlite: the relay holds the directory, so all of them through the API.)
    const viaApi = stack.db.url ? size.viaApi : size.watches;
    const registrar = watchRegistrar(relay.url, stack.keys.relayApiKey, stack.callbackUrl);
    ctx.log(`registering ${fmt(viaApi)} watches through the API (50 concurrent requests)…`);
    const reg = await registrar.registerAll(jobs.ids.slice(0, viaApi), 50);
    await registrar.close();
    data.registration = { ...reg, per_sec: round(reg.registered / (reg.ms / 1000), 0), errors: registrar.errors };
    if (reg.failed > 0) throw new Error(`${reg.failed} registrations failed: ${registrar.errors.join("; ")}`);
    if (viaApi < size.watches) {
      const db = await createDb({ databaseUrl: stack.db.url, dataDir: "memory://", maxConnections: 1 });
      try {
        await insertActive(db, jobs.ids.slice(viaApi), stack.callbackUrl);
      } finally {
        await db.close();
      }
    }

    ctx.log(`warm-up ${size.warmupMs / 1000} s, then a ${size.windowMs / 1000} s window…`);
    await sleep(size.warmupMs);
    const sql = stack.db.sql;
    const groups = {
      relay: [relay.proc.pid],
      postgres: sql ? await backendPids(sql) : [],
      fake: [stack.fake.proc.pid],
      receiver: [stack.receiver.proc.pid],
    };
    const c0 = sql ? await pgCounters(sql) : null;
    const meter = cpuMeter(groups);
    const t0 = Date.now();
    await sleep(size.windowMs);
    const t1 = Date.now();
    const cpu = meter.stop();
    const c1 = sql ? await pgCounters(sql) : null;
    const window = await stack.fakeStats({ since: t0, until: t1, interval_ms: 1000 });
    const polls = window.total_polls;
    const pollsPerSec = round(polls / ((t1 - t0) / 1000), 0);
    const pg = sql && c0 && c1 ? await pgDelta(sql, c0, c1) : null;
    data.window = {
      ms: t1 - t0,
      polls,
      polls_per_sec: pollsPerSec,
      // Demand is watches/s: below it the relay is the limit, at it the workload is.
      demand_per_sec: size.watches,
      min_gap_ms: window.min_gap_ms,
      gaps_lt_1000: window.gaps_lt_1000,
      cpu_pct_of_one_core: cpu,
      commits: pg?.commits ?? null,
      commits_per_poll: pg ? ratio(pg.commits, polls, 3) : null,
      wal_bytes: pg?.walBytes ?? null,
      wal_bytes_per_poll: pg ? ratio(pg.walBytes, polls, 0) : null,
    };
    ctx.log(`${fmt(pollsPerSec)} polls/s; completing every job…`);

    const deliveryMeter = cpuMeter(groups);
    const { at } = await stack.completeJobs({ all: true });
    const all = await waitUntil(
      async () => {
        const s = await stack.receiverStats();
        return s.jobs >= size.watches ? s : undefined;
      },
      size.deliverTimeoutMs,
      100,
    );
    const deliveryCpu = deliveryMeter.stop();
    await sleep(1_000); // late duplicates
    const received = await stack.receiverStats();
    const lastAt = all?.last_at ?? received.last_at;
    const deliveriesPerSec = all && lastAt ? round(size.watches / ((lastAt - at) / 1000), 0) : null;
    data.delivery = {
      completed_at: at,
      all_delivered: all !== undefined,
      callbacks: received.jobs,
      first_callback_after_ms: received.first_at ? received.first_at - at : null,
      last_callback_after_ms: lastAt ? lastAt - at : null,
      deliveries_per_sec: deliveriesPerSec,
      // Callbacks per second once they flow (excludes the wait for the first terminal poll).
      flowing_per_sec:
        received.first_at && lastAt && lastAt > received.first_at
          ? round(received.jobs / ((lastAt - received.first_at) / 1000), 0)
          : null,
      duplicates: received.duplicates,
      bad_signatures: received.bad_signatures,
      cpu_pct_of_one_core: deliveryCpu,
    };
    data.relay_logs = relayLogSummary(stack.relays);
    const result: ScenarioResult = {
      scenario: "throughput",
      figures:
        `${fmt(pollsPerSec)} polls/s, ${fmt(deliveriesPerSec)} deliveries/s, relay CPU ${fmt(cpu.relay, 0)}%, ` +
        `${pg ? `${fmt(ratio(pg.commits, polls, 2), 2)} commits/poll, ${fmt(ratio(pg.walBytes, polls, 0))} WAL B/poll` : "commits/WAL n/a (PGlite)"}`,
      checks: [
        atLeast("polls/s", pollsPerSec, THROUGHPUT_TARGETS.pollsPerSec),
        atLeast("deliveries/s", deliveriesPerSec, THROUGHPUT_TARGETS.deliveriesPerSec),
      ],
      data,
    };
    if (!all) result.error = `only ${received.jobs} of ${size.watches} callbacks within ${size.deliverTimeoutMs} ms`;
    return result;
  } catch (err) {
    data.relay_logs = relayLogSummary(stack.relays);
    return { scenario: "throughput", figures: "failed", checks: [], data, error: (err as Error).message };
  } finally {
    await stack.close();
  }
}
