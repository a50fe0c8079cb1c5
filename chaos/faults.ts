import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readdirSync } from "node:fs";
import type { TcpProxy } from "../test/support/tcp-proxy.js";
import type { Prng } from "./prng.js";
import type { ReceiverFleet } from "./receivers.js";
import type { RelaySlot } from "./relays.js";

/** A fault that happened, for the timeline and for telling duplicates near a fault from the others. */
export interface FaultEvent {
  at: number;
  kind: "sigkill" | "sigterm" | "restart" | "db_down" | "db_up" | "receiver_down" | "receiver_up" | "crash_restart";
  detail: string;
}

export interface FaultLog {
  events: FaultEvent[];
  sigterm?: { code: number | null; signal: string | null; ms: number };
  readiness: { sawNotReady: boolean; readyAgainMs: number | null };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => (clearTimeout(timer), resolve());
    const timer = setTimeout(() => (signal.removeEventListener("abort", onAbort), resolve()), ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });

const note = (log: FaultLog, kind: FaultEvent["kind"], detail: string) => {
  log.events.push({ at: Date.now(), kind, detail });
  console.log(`  [${new Date().toISOString().slice(11, 19)}] ${kind} ${detail}`);
};

/** Per slot: a kill/restart in progress, so two faults never handle the same process at once. */
const busy = new Set<string>();

async function restart(slot: RelaySlot, log: FaultLog): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await slot.start();
      note(log, "restart", `${slot.name} (start #${slot.starts})`);
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/**
 * Every 5–15 s a random relay gets SIGKILL and comes back after 0–5 s; at `sigtermAt` one gets SIGTERM instead
 * and must exit 0 within 10 s. A relay that exited on its own is restarted too (and counted as a crash).
 */
export async function killLoop(slots: RelaySlot[], random: Prng, log: FaultLog, sigtermAt: number, signal: AbortSignal) {
  let sigtermDone = false;
  const pending: Promise<void>[] = [];
  while (!signal.aborted) {
    await sleep(random.int(5_000, 15_000), signal);
    if (signal.aborted) break;
    for (const s of slots) {
      if (!s.running && !busy.has(s.name)) {
        note(log, "crash_restart", s.name);
        busy.add(s.name);
        pending.push(restart(s, log).finally(() => busy.delete(s.name)));
      }
    }
    const slot = random.pick(slots);
    const downMs = random.int(0, 5_000);
    // Two replicas: the other one must be up, so the service as a whole stays up (and /readyz can be watched).
    if (busy.has(slot.name) || !slot.running || slots.some((s) => s !== slot && !s.url)) continue;
    busy.add(slot.name);
    const useSigterm = !sigtermDone && Date.now() >= sigtermAt;
    if (useSigterm) sigtermDone = true;
    pending.push(
      (async () => {
        try {
          note(log, useSigterm ? "sigterm" : "sigkill", slot.name);
          const exit = await slot.kill(useSigterm ? "SIGTERM" : "SIGKILL");
          if (useSigterm) {
            log.sigterm = { code: exit.code, signal: exit.signal, ms: exit.ms };
            console.log(`  SIGTERM: ${slot.name} exited with code ${exit.code} after ${exit.ms} ms`);
          }
          await sleep(downMs, signal);
          await restart(slot, log);
        } finally {
          busy.delete(slot.name);
        }
      })(),
    );
  }
  await Promise.allSettled(pending);
}

/** Makes sure every relay runs (after the fault phase). */
export async function reviveAll(slots: RelaySlot[], log: FaultLog): Promise<void> {
  while (busy.size > 0) await new Promise((r) => setTimeout(r, 200));
  await Promise.all(slots.filter((s) => !s.running).map((s) => restart(s, log)));
}

async function readyStatus(slots: RelaySlot[]): Promise<number | undefined> {
  const slot = slots.find((s) => s.running && s.url);
  if (!slot) return undefined;
  try {
    return (await fetch(`${slot.url}/readyz`, { signal: AbortSignal.timeout(3_000) })).status;
  } catch {
    return undefined;
  }
}

/** The Postgres cluster version to restart (`/etc/postgresql/<ver>`). */
function clusterVersion(): string {
  const versions = readdirSync("/etc/postgresql").sort();
  if (versions.length === 0) throw new Error("no cluster under /etc/postgresql");
  return versions[versions.length - 1]!;
}

/**
 * The database goes away once: by default the proxy between the relays and Postgres is cut for `outageMs`;
 * with `restartPostgres` the real server is restarted (fast shutdown, start again). The relays must say
 * not-ready meanwhile and ready again after, without being restarted.
 */
export async function databaseOutage(
  proxy: TcpProxy,
  slots: RelaySlot[],
  log: FaultLog,
  options: { outageMs: number; restartPostgres: boolean },
): Promise<void> {
  const poll = async (until: number, want: (s: number | undefined) => boolean) => {
    while (Date.now() < until) {
      if (want(await readyStatus(slots))) return true;
      await new Promise((r) => setTimeout(r, 300));
    }
    return false;
  };
  if (options.restartPostgres) {
    const ver = clusterVersion();
    note(log, "db_down", `pg_ctlcluster ${ver} main restart -m fast`);
    const started = Date.now();
    const restarting = promisify(execFile)("pg_ctlcluster", ["--skip-systemctl-redirect", ver, "main", "restart", "-m", "fast"]);
    log.readiness.sawNotReady = await poll(started + 5_000, (s) => s === 503);
    await restarting;
  } else {
    note(log, "db_down", `proxy cut for ${options.outageMs} ms`);
    proxy.cut();
    log.readiness.sawNotReady = await poll(Date.now() + options.outageMs, (s) => s === 503);
    await new Promise((r) => setTimeout(r, Math.max(0, log.events.at(-1)!.at + options.outageMs - Date.now())));
    proxy.restore();
  }
  note(log, "db_up", "");
  const upAt = Date.now();
  log.readiness.readyAgainMs = (await poll(upAt + 30_000, (s) => s === 200)) ? Date.now() - upAt : null;
  console.log(
    `  /readyz: 503 seen during the outage: ${log.readiness.sawNotReady}; 200 again after ${log.readiness.readyAgainMs} ms`,
  );
}

/**
 * `--flap-db`: many short outages instead of one long one. The proxy is cut every 1–5 s for 50–2,500 ms
 * until `until`, so connections die while they start, mid-transaction and mid-acknowledgement (how
 * porsager/postgres#1223 was found).
 */
export async function databaseFlaps(proxy: TcpProxy, random: Prng, log: FaultLog, until: number, signal: AbortSignal) {
  while (!signal.aborted) {
    await sleep(random.int(1_000, 5_000), signal);
    if (signal.aborted || Date.now() >= until) return;
    const downMs = random.int(50, 2_500);
    note(log, "db_down", `proxy flap for ${downMs} ms`);
    proxy.cut();
    await sleep(downMs, signal);
    proxy.restore();
    note(log, "db_up", "flap over");
  }
}

/** One receiver refuses connections for `downMs`, then comes back on the same port. */
export async function receiverOutage(receivers: ReceiverFleet, log: FaultLog, downMs: number, signal: AbortSignal) {
  await receivers.down(0);
  note(log, "receiver_down", `receiver 0 for ${downMs} ms`);
  await sleep(downMs, signal);
  await receivers.up(0);
  note(log, "receiver_up", "receiver 0");
}
