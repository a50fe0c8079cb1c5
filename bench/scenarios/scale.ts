import { sql, type SQL } from "drizzle-orm";
import { claimSchedule } from "../../src/scheduler/poll-timing.js";
import { insertActive, insertFinished } from "../fixtures.js";
import { createDb, type Database } from "../../src/db/client.js";
import { DEFAULT_TENANT_ID } from "../../src/domain/tenant.js";
import { claimDuePolls } from "../../src/db/queries/claim-due-polls.js";
import { migrate } from "../../src/db/migrate.js";
import { sleep } from "../http.js";
import { createBenchDb } from "../database.js";
import { cpuMeter, memoryMb, ratio, round, summarize, type Summary } from "../metrics.js";
import { onCleanup } from "../processes.js";
import { atMost, fmt, type ScenarioContext, type ScenarioResult } from "../scenario.js";
import { relayLogSummary, startStack, type Stack } from "../stack.js";

/** Targets: the claim must not slow down with finished history, and the relay must stay small. */
export const SCALE_TARGETS = { claimRatio: 1.5, rssMb: 250 };

const CLAIM_LIMIT = 100;
const INSERT_CHUNK = 100_000;

/** The real claim query, called as the scheduler calls it into a backlog (its previous claim came back full). */
function claimBatch(db: Database, limit: number) {
  return claimDuePolls(db, {
    workerId: "bench-scale",
    limit,
    now: new Date(),
    schedule: claimSchedule({ minIntervalMs: 1000, maxIntervalMs: 10_000 }),
    backlog: true,
  });
}

/**
 * Claim latency and relay memory with N active watches on top of a small vs a large finished history (polls
 * `done`, watches and deliveries `delivered`, one attempt each, built with generate_series). The two histories
 * live in two databases holding the same active rows, and claims alternate between them batch by batch: load
 * from anything else on the machine then hits both sides alike, so the ratio stays meaningful on a busy box.
 */
export async function scale(ctx: ScenarioContext): Promise<ScenarioResult> {
  const size = ctx.quick
    ? { active: 1_000, small: 1_000, large: 25_000, batches: 60, steadyMs: 1_000 }
    : { active: 20_000, small: 20_000, large: 1_000_000, batches: 200, steadyMs: 20_000 };
  const settings = { POLL_MIN_INTERVAL_MS: "1000", POLL_MAX_INTERVAL_MS: "1000", POLL_CONCURRENCY: "256" };
  const data: Record<string, unknown> = { size, claim_limit: CLAIM_LIMIT, relay_settings: settings };
  const stack = await startStack(ctx, { scenario: "scale", upstreamLatencyMs: 0, receiverLatencyMs: 0, relayEnv: settings });
  const largeDb = await createBenchDb(ctx.target, "scale_large").catch(async (err: unknown) => {
    await stack.close();
    throw err;
  });
  const unregister = onCleanup(() => largeDb.drop());
  const sides = [
    { label: "small", bench: stack.db, finished: size.small },
    { label: "large", bench: largeDb, finished: size.large },
  ] as const;
  const open: (Database | undefined)[] = [undefined, undefined];
  const openAll = async () => {
    for (const [i, side] of sides.entries()) {
      open[i] = await createDb({ databaseUrl: side.bench.url, dataDir: side.bench.dataDir ?? "memory://", maxConnections: 1 });
    }
    return [...open] as Database[];
  };
  const closeAll = async () => {
    for (const [i, db] of open.entries()) {
      await db?.close();
      open[i] = undefined;
    }
  };
  try {
    const jobs = await stack.createJobs({ count: size.active, never_finish: true, prefix: "sa_" });
    const dbs = await openAll();
    const build: Record<string, Record<string, number>> = {};
    for (const [i, side] of sides.entries()) {
      const db = dbs[i]!;
      const t = Date.now();
      await migrate(db);
      // The relay makes the tenant's keys and secret at its first start; the rows only need the tenant itself.
      await db.rows(sql`insert into tenants (id, name) values (${DEFAULT_TENANT_ID}, 'default') on conflict (id) do nothing`);
      await insertActive(db, jobs.ids, stack.callbackUrl);
      const took: Record<string, number> = {};
      // The rows are consistent by construction: skip the per-row foreign-key triggers while building them
      // (this session only; the connection pool has one connection). Halves the build time.
      await db.rows(sql`set session_replication_role = replica`);
      for (let from = 0; from < side.finished; from += INSERT_CHUNK) {
        await insertFinished(db, from, Math.min(side.finished, from + INSERT_CHUNK), stack.callbackUrl, took);
      }
      await db.rows(sql`set session_replication_role = origin`);
      const v = performance.now();
      await db.rows(sql`vacuum analyze polls, watches, deliveries, delivery_attempts`);
      took.vacuum_analyze = Math.round(performance.now() - v);
      build[side.label] = took;
      ctx.log(
        `${side.label}: ${fmt(size.active)} active + ${fmt(side.finished)} finished rows in ${fmt((Date.now() - t) / 1000, 1)} s`,
      );
    }
    data.build_ms = build;

    ctx.log(`timing ${size.batches} claims of ${CLAIM_LIMIT} on each, alternating…`);
    const claims = await measureClaims(dbs, size.active, size.batches);
    const explain = [await explainClaim(dbs[0]!), await explainClaim(dbs[1]!)];
    const before: (Record<string, number> | undefined)[] = [];
    for (const db of dbs) {
      await resetActive(db, "next"); // as inserted: due over the next second, for the relay's run
      before.push(await activeState(db));
    }
    await closeAll(); // PGlite: the relay needs the directory to itself

    const relays: Awaited<ReturnType<typeof relayMemory>>[] = [];
    for (const side of sides) relays.push(await relayMemory(stack, size.steadyMs, side.bench.relayEnv));
    const after: (Record<string, number> | undefined)[] = [];
    for (const db of await openAll()) after.push(await activeState(db));
    await closeAll();

    const phases = Object.fromEntries(
      sides.map((side, i) => [
        side.label,
        {
          finished_rows: side.finished,
          claim_ms: claims[i],
          relay: relays[i],
          active_rows: { before: before[i], after: after[i] },
          explain: explain[i],
        },
      ]),
    );
    const [small, large] = [claims[0]!, claims[1]!];
    const claimRatio = ratio(large.p50, small.p50);
    data.phases = phases;
    data.claim_ratio_p50 = claimRatio;
    data.claim_ratio_p95 = ratio(large.p95, small.p95);
    data.relay_logs = relayLogSummary(stack.relays);
    const rss = relays.map((r) => r.rss_mb).filter((v): v is number => v !== null);
    return {
      scenario: "scale",
      figures:
        `claim p50 ${small.p50} → ${large.p50} ms (${fmt(size.small)} → ${fmt(size.large)} finished, ×${claimRatio}), ` +
        `RSS ${relays[0]!.rss_mb} / ${relays[1]!.rss_mb} MB`,
      checks: [
        atMost("claim p50 ratio", claimRatio, SCALE_TARGETS.claimRatio, "", 2),
        atMost("relay RSS", rss.length === 2 ? Math.max(...rss) : null, SCALE_TARGETS.rssMb, " MB"),
      ],
      data,
    };
  } catch (err) {
    data.relay_logs = relayLogSummary(stack.relays);
    return { scenario: "scale", figures: "failed", checks: [], data, error: (err as Error).message };
  } finally {
    await closeAll().catch(() => {});
    await stack.close();
    unregister();
    await largeDb.drop();
  }
}

/** Where the active rows stand: how many are due, how far ahead the rest are, how often they were polled. */
async function activeState(db: Database) {
  const [row] = await db.rows<Record<string, number>>(sql`
    select count(*)::int as rows,
           (count(*) filter (where next_poll_at <= now()))::int as due,
           round(extract(epoch from max(next_poll_at) - now()) * 1000)::int as last_due_in_ms,
           sum(poll_count)::int as poll_count
    from polls where status = 'active'`);
  return row;
}

/**
 * Every active poll back to its registered state (1 s interval) and due within the last second, as if the relay
 * had fallen behind by up to 1 s: the timed claims grow intervals and move rows ahead, which must not leak into
 * the next round nor into the relay's run.
 */
async function resetActive(db: Database, dueWithin: "past" | "next" = "past"): Promise<void> {
  const spread = dueWithin === "past" ? sql`now() - random() * interval '1 second'` : sql`now() + random() * interval '1 second'`;
  await db.rows(sql`update polls set next_poll_at = ${spread}, interval_ms = 1000, locked_by = null where status = 'active'`);
  // Each round starts from the same clean index: dead tuples of the previous round would favour whichever size ran later.
  await db.rows(sql`vacuum polls`);
}

/**
 * Times `batches` real claims of CLAIM_LIMIT rows on each database, alternating between them. A round claims
 * every active row once; between rounds the rows are made due again (untimed).
 */
async function measureClaims(dbs: readonly Database[], active: number, batches: number): Promise<Summary[]> {
  for (const db of dbs) {
    await resetActive(db);
    for (let k = 0; k < 5; k++) await claimBatch(db, CLAIM_LIMIT); // connection, plan cache, buffers
    await resetActive(db);
  }
  const ms = dbs.map(() => [] as number[]);
  let claimedThisRound = 0;
  for (let n = 0; n < batches; n++) {
    if (claimedThisRound + CLAIM_LIMIT > active) {
      for (const db of dbs) await resetActive(db);
      claimedThisRound = 0;
    }
    for (const [i, db] of dbs.entries()) {
      const t = performance.now();
      const got = await claimBatch(db, CLAIM_LIMIT);
      const elapsed = performance.now() - t;
      if (got.length < CLAIM_LIMIT)
        throw new Error(
          `a claim found ${got.length} due rows, not ${CLAIM_LIMIT}: the claim query or the reset does not match the schema`,
        );
      ms[i]!.push(elapsed);
    }
    claimedThisRound += CLAIM_LIMIT;
  }
  for (const db of dbs) await resetActive(db);
  return ms.map((v) => summarize(v, 2));
}

/**
 * The claim's own SQL under EXPLAIN (ANALYZE, BUFFERS): claimDuePolls runs against a stand-in database that
 * records the statements instead of running them, and they are then run for real, explained, in one
 * transaction (the claim's planner settings hold in it; running them claims for real).
 */
async function explainClaim(db: Database): Promise<string[]> {
  const statements: SQL[] = [];
  const recorder: Database = { ...db, rows: async (query: SQL) => (statements.push(query), []) as never };
  await claimBatch(recorder, CLAIM_LIMIT);
  const lines: string[] = [];
  await db.orm.transaction(async (tx) => {
    for (const statement of statements) {
      const rows = await db.rows<Record<string, unknown>>(sql`explain (analyze, buffers) ${statement}`, tx);
      const plan = rows.map((r) => String(Object.values(r)[0]));
      if (!plan.some((l) => l.includes("polls"))) continue; // the planner settings, not the claim
      if (lines.length) lines.push("");
      lines.push(...plan);
    }
  });
  if (lines.length === 0) lines.push("(claimDuePolls issued no statement through db.rows: EXPLAIN unavailable)");
  return lines;
}

/** Starts the relay on the prepared database, lets it poll for `steadyMs`, and reads its memory and poll rate. */
async function relayMemory(stack: Stack, steadyMs: number, dbEnv: Record<string, string>) {
  const relay = await stack.startRelay(stack.relays.length + 1, dbEnv);
  try {
    const half = Math.floor(steadyMs / 2);
    await sleep(steadyMs - half);
    // Poll rate and CPU over the second half: the relay has caught up with the start.
    const meter = cpuMeter({ relay: [relay.proc.pid] });
    const t0 = Date.now();
    await sleep(half);
    const t1 = Date.now();
    const memory = memoryMb(relay.proc.pid);
    const cpu = meter.stop();
    const polls = await stack.fakeStats({ since: t0, until: t1 });
    return { ...memory, after_ms: steadyMs, polls_per_sec: round(polls.total_polls / ((t1 - t0) / 1000), 0), cpu_pct: cpu.relay };
  } finally {
    await relay.proc.stop(10_000);
  }
}
