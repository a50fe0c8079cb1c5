import { writeFileSync } from "node:fs";
import { format, resolveConfig } from "prettier";
import type { FaultLog } from "./faults.js";
import type { Ack } from "./receivers.js";

/** How long the relays' /readyz answers 503 on SIGTERM before their listener closes; the 10 s exit budget starts after it. */
export const SHUTDOWN_UNREADY_MS = 1_000;

export interface RunFacts {
  seed: number;
  mode: "full" | "ci";
  durationMs: number;
  drainMs: number;
  watches: number;
  registered: number;
  terminalJobs: string[];
  acks: Ack[];
  watchStatuses: Record<string, number>;
  deliveryStatuses: Record<string, number>;
  restartsSurvived: number;
  sigkills: number;
  crashes: string[];
  driverBugRecoveries: number;
  faults: FaultLog;
  outageKind: "proxy cut" | "postgres restart";
  rss: { startBytes: number[]; endBytes: number[]; maxBytes: number };
  upstream: Record<string, number>;
  receivers: Record<string, number>;
  finalStopCodes: (number | null)[];
  kills: boolean;
}

export interface Row {
  check: string;
  value: string;
  rule: string;
  pass: boolean | null;
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

/** Turns the run's facts into the verdict rows (pass null: a figure without a rule). */
export function judge(f: RunFacts): { rows: Row[]; summary: Record<string, unknown> } {
  const terminalEvents = new Set(["job.completed", "job.failed", "job.canceled"]);
  const ackedJobs = new Set(f.acks.filter((a) => terminalEvents.has(a.event)).map((a) => a.jobId));
  const lost = f.terminalJobs.filter((j) => !ackedJobs.has(j));
  const byId = new Map<string, Ack[]>();
  for (const a of f.acks) byId.set(a.webhookId, [...(byId.get(a.webhookId) ?? []), a]);
  const deliveries = byId.size;
  const dupAcks = [...byId.values()].filter((list) => list.length > 1);
  const duplicates = dupAcks.reduce((n, list) => n + list.length - 1, 0);
  const faultTimes = f.faults.events.filter((e) => e.kind !== "restart" && e.kind !== "receiver_up").map((e) => e.at);
  // A duplicate "around a fault": some fault happened between the first acknowledgement and the repeat (+ a lease).
  const awayFromFaults = dupAcks.filter(
    (list) => !faultTimes.some((t) => t >= list[0]!.at - 15_000 && t <= list.at(-1)!.at),
  ).length;
  const dupPct = deliveries === 0 ? 0 : (100 * duplicates) / deliveries;
  const unsettled = (f.watchStatuses.watching ?? 0) + (f.watchStatuses.delivering ?? 0);
  const sigterm = f.faults.sigterm;
  const rows: Row[] = [
    { check: "watches registered", value: `${f.registered} / ${f.watches}`, rule: "all", pass: f.registered === f.watches },
    { check: "terminal jobs", value: String(f.terminalJobs.length), rule: "", pass: null },
    { check: "callbacks acknowledged", value: `${f.acks.length} (${deliveries} distinct webhook-ids)`, rule: "", pass: null },
    { check: "lost", value: String(lost.length), rule: "= 0", pass: lost.length === 0 },
    {
      check: "duplicates",
      value: `${duplicates} (${dupPct.toFixed(2)}%), ${awayFromFaults} away from faults`,
      rule: "≤ 0.5%, around faults",
      pass: dupPct <= 0.5 && awayFromFaults === 0,
    },
    { check: "unsettled watches", value: String(unsettled), rule: "= 0", pass: unsettled === 0 },
    { check: "watch statuses", value: JSON.stringify(f.watchStatuses), rule: "", pass: null },
    { check: "relay restarts survived", value: `${f.restartsSurvived} (${f.sigkills} SIGKILL)`, rule: "", pass: null },
    {
      check: "SIGTERM exit",
      value: sigterm ? `code ${sigterm.code} in ${sigterm.ms} ms` : "not sent",
      rule: `0 within ${SHUTDOWN_UNREADY_MS / 1000} s unready + 10 s`,
      pass: sigterm ? sigterm.code === 0 && sigterm.ms < SHUTDOWN_UNREADY_MS + 10_000 : f.kills ? false : null,
    },
    {
      check: `database outage (${f.outageKind})`,
      value: `503 seen: ${f.faults.readiness.sawNotReady}, ready again after ${f.faults.readiness.readyAgainMs ?? "never"} ms`,
      rule: f.outageKind === "proxy cut" ? "503 while down, 200 after" : "200 after",
      pass: f.faults.readiness.readyAgainMs !== null && (f.outageKind === "postgres restart" || f.faults.readiness.sawNotReady),
    },
    { check: "crashes not caused by a kill", value: String(f.crashes.length), rule: "= 0", pass: f.crashes.length === 0 },
    { check: "postgres.js #1154/#1223 errors survived", value: String(f.driverBugRecoveries), rule: "", pass: null },
    {
      check: "final SIGTERM of every relay",
      value: f.finalStopCodes.map((c) => `code ${c}`).join(", "),
      rule: "exit 0",
      pass: f.finalStopCodes.every((c) => c === 0),
    },
    {
      check: "relay RSS start → end",
      value: `${f.rss.startBytes.map(mb).join(", ")} → ${f.rss.endBytes.map(mb).join(", ")} (max ${mb(f.rss.maxBytes)})`,
      rule: "",
      pass: null,
    },
    { check: "upstream answers", value: JSON.stringify(f.upstream), rule: "", pass: null },
    { check: "receiver answers", value: JSON.stringify(f.receivers), rule: "", pass: null },
  ];
  const summary = {
    seed: f.seed,
    mode: f.mode,
    durationMs: f.durationMs,
    drainMs: f.drainMs,
    lost: lost.slice(0, 50),
    duplicateWebhookIds: dupAcks.slice(0, 50).map((l) => ({ id: l[0]!.webhookId, times: l.map((a) => a.at) })),
    crashes: f.crashes.slice(0, 50),
    faults: f.faults.events,
  };
  return { rows, summary };
}

export function printTable(rows: Row[]): string {
  const w1 = Math.max(...rows.map((r) => r.check.length));
  const w3 = Math.max(...rows.map((r) => r.rule.length));
  const lines = rows.map(
    (r) => `${r.pass === null ? "    " : r.pass ? "ok  " : "FAIL"} ${r.check.padEnd(w1)}  ${r.rule.padEnd(w3)}  ${r.value}`,
  );
  return lines.join("\n");
}

/** Writes the verdict as JSON formatted the way the repository's prettier check wants it. */
export async function writeResults(path: string, rows: Row[], summary: Record<string, unknown>, passed: boolean): Promise<void> {
  const json = JSON.stringify({ passed, verdict: rows, ...summary });
  writeFileSync(path, await format(json, { ...(await resolveConfig(path)), parser: "json" }));
}
