import { backendPids } from "../database.js";
import { sleep, waitUntil } from "../http.js";
import { cpuMeter, ratio, round } from "../metrics.js";
import { createDb } from "../../src/db/client.js";
import { insertActive } from "../fixtures.js";
import { atLeast, atMost, fmt, type ScenarioContext, type ScenarioResult } from "../scenario.js";
import { relayLogSummary, startStack } from "../stack.js";

/** Targets: three processes on one Postgres poll ≥ 2.2× one, never deliver twice, and rarely poll twice. */
export const REPLICA_TARGETS = { scaling: 2.2, duplicateDeliveries: 0, duplicatePollPct: 1 };

/**
 * 1, 2 then 3 relay processes on one Postgres, with a 50 ms upstream and more watches due every second than
 * they can poll: polls/s per relay and in total for each count, polls of one job less than 1 s apart (a second
 * process polling what another just polled), and, after every job completes, callbacks acknowledged twice.
 */
export async function replicas(ctx: ScenarioContext): Promise<ScenarioResult> {
  if (ctx.target.kind !== "postgres") {
    return {
      scenario: "replicas",
      figures: "",
      checks: [],
      data: {},
      skipped: "needs Postgres: PGlite allows one process per directory",
    };
  }
  // Demand (watches/s) stays above what three relays can do (concurrency / 50 ms each), so the count is the limit.
  const size = ctx.quick
    ? { watches: 600, concurrency: 8, settleMs: 500, windowMs: 1_500, deliverTimeoutMs: 30_000, graceMs: 300 }
    : { watches: 6_000, concurrency: 64, settleMs: 5_000, windowMs: 20_000, deliverTimeoutMs: 120_000, graceMs: 3_000 };
  const settings = {
    POLL_MIN_INTERVAL_MS: "1000",
    POLL_MAX_INTERVAL_MS: "1000",
    POLL_CONCURRENCY: String(size.concurrency),
    DELIVERY_PER_ORIGIN_CONCURRENCY: "64",
  };
  const data: Record<string, unknown> = { size, upstream_latency_ms: 50, relay_settings: settings };
  const stack = await startStack(ctx, { scenario: "replicas", upstreamLatencyMs: 50, receiverLatencyMs: 0, relayEnv: settings });
  try {
    const runStart = Date.now();
    await stack.startRelay(1); // migrates and makes the tenant
    const jobs = await stack.createJobs({ count: size.watches, never_finish: true });
    // Written with SQL like the scale scenario's active rows: the API's registration rate is not what this
    // scenario measures, and registering thousands through it would dominate a quick run.
    const db = await createDb({ databaseUrl: stack.db.url, dataDir: "memory://", maxConnections: 1 });
    try {
      await insertActive(db, jobs.ids, stack.callbackUrl);
    } finally {
      await db.close();
    }

    const phases: {
      relays: number;
      polls_per_sec: number;
      per_relay: Record<string, number>;
      gaps_lt_1000: number;
      cpu_pct: Record<string, number | null>;
    }[] = [];
    for (let count = 1; count <= 3; count++) {
      if (count > 1) await stack.startRelay(count);
      await sleep(size.settleMs);
      const pids = Object.fromEntries(stack.relays.map((r) => [`relay_${r.tag}`, [r.proc.pid]]));
      const meter = cpuMeter({ ...pids, postgres: stack.db.sql ? await backendPids(stack.db.sql) : [] });
      const t0 = Date.now();
      await sleep(size.windowMs);
      const t1 = Date.now();
      const cpu = meter.stop();
      const w = await stack.fakeStats({ since: t0, until: t1, interval_ms: 1000 });
      const secs = (t1 - t0) / 1000;
      const perRelay = Object.fromEntries(
        stack.relays.map((r) => [`relay_${r.tag}`, round((w.by_tag[String(r.tag)]?.polls ?? 0) / secs, 0)]),
      );
      phases.push({
        relays: count,
        polls_per_sec: round(w.total_polls / secs, 0),
        per_relay: perRelay,
        gaps_lt_1000: w.gaps_lt_1000,
        cpu_pct: cpu,
      });
      ctx.log(`${count} relay(s): ${fmt(w.total_polls / secs)} polls/s`);
    }
    data.phases = phases;

    ctx.log("completing every job with 3 relays running…");
    const { at } = await stack.completeJobs({ all: true });
    const all = await waitUntil(
      async () => {
        const s = await stack.receiverStats();
        return s.jobs >= size.watches ? s : undefined;
      },
      size.deliverTimeoutMs,
      100,
    );
    await sleep(size.graceMs); // a second copy of a callback would arrive now
    const received = await stack.receiverStats();
    const whole = await stack.fakeStats({ since: runStart, interval_ms: 1000 });
    const dupPct = whole.total_polls ? round((100 * whole.gaps_lt_1000) / whole.total_polls, 3) : null;
    const scaling = ratio(phases[2]?.polls_per_sec, phases[0]?.polls_per_sec);
    data.delivery = {
      all_delivered: all !== undefined,
      callbacks: received.jobs,
      last_callback_after_ms: received.last_at ? received.last_at - at : null,
      duplicate_deliveries: received.duplicates,
      duplicate_messages: received.duplicate_messages,
      bad_signatures: received.bad_signatures,
    };
    data.polls = {
      total: whole.total_polls,
      within_1s_of_previous: whole.gaps_lt_1000,
      duplicate_pct: dupPct,
      min_gap_ms: whole.min_gap_ms,
      by_tag: whole.by_tag,
    };
    data.scaling_3_vs_1 = scaling;
    data.relay_logs = relayLogSummary(stack.relays);
    const result: ScenarioResult = {
      scenario: "replicas",
      figures:
        `polls/s 1→2→3 relays: ${phases.map((p) => fmt(p.polls_per_sec)).join(" → ")} (×${scaling}), ` +
        `${received.duplicates} duplicate deliveries, ${fmt(dupPct, 2)}% polls < 1 s apart`,
      checks: [
        atLeast("3 vs 1 relays", scaling, REPLICA_TARGETS.scaling, "×", 2),
        atMost("duplicate deliveries", received.duplicates + received.duplicate_messages, REPLICA_TARGETS.duplicateDeliveries),
        {
          name: "duplicate polls",
          value: dupPct === null ? "n/a" : `${fmt(dupPct, 2)}%`,
          target: `< ${REPLICA_TARGETS.duplicatePollPct}%`,
          met: dupPct === null ? null : dupPct < REPLICA_TARGETS.duplicatePollPct,
        },
      ],
      data,
    };
    if (!all) result.error = `only ${received.jobs} of ${size.watches} callbacks within ${size.deliverTimeoutMs} ms`;
    return result;
  } catch (err) {
    data.relay_logs = relayLogSummary(stack.relays);
    return { scenario: "replicas", figures: "failed", checks: [], data, error: (err as Error).message };
  } finally {
    await stack.close();
  }
}
