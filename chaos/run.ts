/**
 * The chaos run (`npm run chaos [-- --ci] [--seed N] [--restart-postgres] [--flap-db]`): two relay processes against their own
 * Postgres database, a fake Rendley and callback receivers on 127.0.0.1, faults from a seeded PRNG, then a drain
 * and a verdict (printed, and written to chaos/results.json). Exit code 1 when a verdict fails.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTcpProxy, type TcpProxy } from "../test/support/tcp-proxy.js";
import { createChaosDatabase, type ChaosDatabase } from "./database.js";
import { startFakeUpstream, NO_FAULTS, type FakeUpstream } from "./fake-upstream.js";
import { databaseFlaps, databaseOutage, killLoop, receiverOutage, reviveAll, type FaultLog } from "./faults.js";
import { parseOptions } from "./options.js";
import { streams } from "./prng.js";
import { NO_RECEIVER_FAULTS, startReceivers, type ReceiverFleet } from "./receivers.js";
import { registerWatches } from "./register.js";
import { createRelaySlot, type RelaySlot } from "./relays.js";
import { judge, printTable, SHUTDOWN_UNREADY_MS, writeResults } from "./verdict.js";

const API_KEY = "rrk_chaos_key_0123456789abcdef";
const SECRET = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;
const RESULTS = fileURLToPath(new URL("results.json", import.meta.url));
/** Stalls last longer than these timeouts (the relays' UPSTREAM_TIMEOUT_MS / DELIVERY_TIMEOUT_MS). */
const TIMEOUT_MS = 5_000;
const STALL_MS = 7_000;

const options = parseOptions(process.argv.slice(2), process.env);
const rand = streams(options.seed);
const log = (msg: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}`);

let db: ChaosDatabase | undefined;
let proxy: TcpProxy | undefined;
let upstream: FakeUpstream | undefined;
let receivers: ReceiverFleet | undefined;
const slots: RelaySlot[] = [];
const stopFaults = new AbortController();
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    stopFaults.abort();
    await Promise.allSettled(slots.map((s) => s.kill("SIGKILL")));
    await Promise.allSettled([proxy?.close(), upstream?.close(), receivers?.close()]);
    await db?.drop().catch((err) => console.error(`could not drop ${db?.name}: ${(err as Error).message}`));
  })();
  return cleaning;
}
// Ctrl-C or a kill of the run itself: no child process and no database is left behind.
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on("exit", () => {
  for (const s of slots) if (s.pid && s.running) process.kill(s.pid, "SIGKILL");
});

async function main(): Promise<number> {
  log(
    `seed ${options.seed} (replay with --seed ${options.seed}), ${options.mode} run: ${options.watches} watches over ${options.durationMs / 1000} s`,
  );
  db = await createChaosDatabase(options.serverUrl, options.poolUrl);
  log(`database ${db.name} created${options.poolUrl ? `; the relays reach it through the pooler at ${db.host}:${db.port}` : ""}`);
  proxy = await startTcpProxy({ host: db.host, port: db.port });
  upstream = await startFakeUpstream(rand.upstream, STALL_MS);
  receivers = await startReceivers(4, SECRET, rand.receivers, STALL_MS);
  const logDir = mkdtempSync(join(tmpdir(), "relay-chaos-"));
  log(`relay logs in ${logDir}`);
  const env = {
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: proxy.via(db.url),
    DATABASE_PREPARED_STATEMENTS: String(options.preparedStatements),
    RENDLEY_API_URL: upstream.url,
    RENDLEY_API_KEY: upstream.apiKey,
    RELAY_API_KEY: API_KEY,
    RELAY_SIGNING_SECRET: SECRET,
    RELAY_CALLBACK_ALLOWLIST: "127.0.0.1",
    POLL_MIN_INTERVAL_MS: "1000",
    POLL_MAX_INTERVAL_MS: "3000",
    UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS),
    DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS),
    DELIVERY_RETRY_SCHEDULE: "1s,2s,4s,8s,15s,15s,15s,15s,15s,15s,15s,15s,15s,15s",
    DELIVERY_BREAKER_COOLDOWN_MS: "5000",
    LEASE_MS: "10000", // the lease is at least both timeouts + 6 s = 16 s
    RELAY_RATE_LIMIT_RPS: "100000",
    RELAY_RATE_LIMIT_BURST: "100000",
    LOG_LEVEL: "info",
    SHUTDOWN_UNREADY_MS: String(SHUTDOWN_UNREADY_MS),
  };
  slots.push(createRelaySlot("relay-a", env, logDir), createRelaySlot("relay-b", env, logDir));
  await Promise.all(slots.map((s) => s.start()));
  log(`relays listening: ${slots.map((s) => s.url).join(", ")}`);

  // RSS: first sample once both run, then every 5 s.
  const rssStart = slots.map((s) => s.rss() ?? 0);
  let rssMax = Math.max(...rssStart);
  const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, ...slots.map((s) => s.rss() ?? 0))), 5_000);

  const faultLog: FaultLog = { events: [], readiness: { sawNotReady: false, readyAgainMs: null } };
  const t0 = Date.now();
  const at = (fraction: number) =>
    new Promise((r) => setTimeout(r, Math.max(0, t0 + fraction * options.durationMs - Date.now())));
  const phase = Promise.all([
    options.kills ? killLoop(slots, rand.kills, faultLog, t0 + 0.3 * options.durationMs, stopFaults.signal) : undefined,
    at(0.1).then(() => receiverOutage(receivers!, faultLog, options.receiverDownMs, stopFaults.signal)),
    // Short outages end before the long one starts, so its 503-then-200 check sees only itself.
    options.flapDatabase
      ? at(0.1).then(() => databaseFlaps(proxy!, rand.outage, faultLog, t0 + 0.5 * options.durationMs, stopFaults.signal))
      : undefined,
    at(0.55).then(() =>
      databaseOutage(proxy!, slots, faultLog, { outageMs: options.outageMs, restartPostgres: options.restartPostgres }),
    ),
  ]);
  const registered = registerWatches({
    count: options.watches,
    windowMs: 0.75 * options.durationMs,
    slots,
    upstream,
    receivers,
    apiKey: API_KEY,
    random: rand.jobs,
    signal: AbortSignal.timeout(options.durationMs + options.drainTimeoutMs),
  });
  await at(1);
  log("fault phase over: stopping faults and draining");
  stopFaults.abort();
  await phase;
  upstream.setFaults(NO_FAULTS);
  receivers.setFaults(NO_RECEIVER_FAULTS);
  await receivers.up(0);
  proxy.restore();
  await reviveAll(slots, faultLog);
  const registeredCount = await registered;

  // Drain: every job finished upstream, every final event acknowledged, every watch settled.
  const drainStart = Date.now();
  const drained = async () => {
    const jobs = upstream!.terminalJobs();
    const acked = new Set(receivers!.acks.map((a) => a.jobId));
    if (jobs.length < registeredCount || jobs.some((j) => !acked.has(j.id))) return false;
    const statuses = await db!.watchStatuses();
    return (statuses.watching ?? 0) + (statuses.delivering ?? 0) === 0;
  };
  while (Date.now() - drainStart < options.drainTimeoutMs && !(await drained().catch(() => false))) {
    for (const s of slots) if (!s.running) await reviveAll(slots, faultLog);
    await new Promise((r) => setTimeout(r, 2_000));
  }
  const drainMs = Date.now() - drainStart;
  log(`drained in ${(drainMs / 1000).toFixed(1)} s`);
  clearInterval(rssTimer);
  const rssEnd = slots.map((s) => s.rss() ?? 0);
  const finalStops = await Promise.all(slots.map((s) => s.kill("SIGTERM")));

  const facts = {
    seed: options.seed,
    mode: options.mode,
    durationMs: options.durationMs,
    drainMs,
    watches: options.watches,
    registered: registeredCount,
    terminalJobs: upstream.terminalJobs().map((j) => j.id),
    acks: receivers.acks,
    watchStatuses: await db.watchStatuses(),
    deliveryStatuses: await db.deliveryStatuses(),
    restartsSurvived: faultLog.events.filter((e) => e.kind === "restart").length,
    sigkills: faultLog.events.filter((e) => e.kind === "sigkill").length,
    crashes: slots.flatMap((s) => s.crashes),
    driverBugRecoveries: slots.reduce((n, s) => n + s.driverBugRecoveries, 0),
    faults: faultLog,
    outageKind: options.restartPostgres ? ("postgres restart" as const) : ("proxy cut" as const),
    rss: { startBytes: rssStart, endBytes: rssEnd, maxBytes: rssMax },
    upstream: upstream.counts,
    receivers: receivers.counts,
    finalStopCodes: finalStops.map((e) => e.code),
    kills: options.kills,
  };
  const { rows, summary } = judge(facts);
  const passed = rows.every((r) => r.pass !== false);
  console.log(`\nVerdict (seed ${options.seed}, ${options.mode}):\n${printTable(rows)}\n`);
  // CI keeps only this output, so what a relay printed when it crashed is quoted here, not only in the logs.
  for (const crash of facts.crashes.slice(0, 10)) console.log(`crash: ${crash}`);
  await writeResults(RESULTS, rows, summary, passed);
  log(`${passed ? "PASSED" : "FAILED"}; results in ${RESULTS}`);
  return passed ? 0 : 1;
}

main()
  .catch((err) => {
    console.error(`chaos run failed: ${(err as Error).stack ?? err}`);
    return 1;
  })
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  });
