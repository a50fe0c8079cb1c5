import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

/** Percentile of sorted values, linear between closest ranks (p in 0..100); null for no values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export interface Summary {
  n: number;
  min: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** n, min, p50/p95/p99, max and mean, rounded to `digits` decimals. */
export function summarize(values: readonly number[], digits = 1): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const r = (v: number | null) => (v === null ? null : round(v, digits));
  return {
    n: sorted.length,
    min: r(sorted[0] ?? null),
    p50: r(percentile(sorted, 50)),
    p95: r(percentile(sorted, 95)),
    p99: r(percentile(sorted, 99)),
    max: r(sorted[sorted.length - 1] ?? null),
    mean: r(sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null),
  };
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A ratio rounded, or null when either side is missing or the divisor is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined, digits = 2): number | null {
  if (a == null || b == null || b === 0) return null;
  return round(a / b, digits);
}

/** Clock ticks per second of /proc's utime/stime (getconf CLK_TCK; 100 on Linux in practice). */
const CLK_TCK = (() => {
  const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(out.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** CPU seconds (user + system) a process has used so far; null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: fields are counted after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // fields 14 (utime) and 15 (stime)
  } catch {
    return null;
  }
}

/** The whole machine's busy and total jiffies (/proc/stat), to tell whether the cores were saturated. */
function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * CPU use from now to `stop()`: % of one core per named process group, the machine's % of all cores, and
 * `others_pct`, the rest of the machine's busy time in % of one core.
 */
export function cpuMeter(groups: Record<string, readonly number[]>) {
  const t0 = performance.now();
  const m0 = machineJiffies();
  const before = new Map<number, number>();
  for (const pids of Object.values(groups)) for (const pid of pids) before.set(pid, cpuSeconds(pid) ?? NaN);
  return {
    /** `{group: % of one core}` (pids that vanished count for nothing) and `machine_pct` (0–100 of all cores). */
    stop(): Record<string, number | null> {
      const seconds = (performance.now() - t0) / 1000;
      const out: Record<string, number | null> = {};
      for (const [name, pids] of Object.entries(groups)) {
        let used = 0;
        let seen = false;
        for (const pid of pids) {
          const a = before.get(pid);
          const b = cpuSeconds(pid);
          if (a === undefined || Number.isNaN(a) || b === null) continue;
          used += b - a;
          seen = true;
        }
        out[name] = seen && seconds > 0 ? round((100 * used) / seconds, 1) : null;
      }
      const m1 = machineJiffies();
      const machine = m1.total > m0.total ? (m1.busy - m0.busy) / (m1.total - m0.total) : null;
      out.machine_pct = machine === null ? null : round(100 * machine, 1);
      // What else ran meanwhile (other Postgres work, other people's tests…), in % of one core: when this is
      // large the cores were shared and every figure of the window is pessimistic.
      const ours = Object.keys(groups).reduce((sum, name) => sum + (out[name] ?? 0), 0);
      out.others_pct = machine === null ? null : round(Math.max(0, 100 * machine * cpus().length - ours), 1);
      return out;
    },
  };
}

/** VmRSS and VmHWM (peak) of a process in MB; nulls when it is gone. */
export function memoryMb(pid: number): { rss_mb: number | null; peak_rss_mb: number | null } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
      return m ? round(Number(m[1]) / 1024, 1) : null;
    };
    return { rss_mb: kb("VmRSS"), peak_rss_mb: kb("VmHWM") };
  } catch {
    return { rss_mb: null, peak_rss_mb: null };
  }
}

/** What the figures were measured on (stored in every result file). */
export function machineInfo(postgres: unknown): Record<string, unknown> {
  const list = cpus();
  return {
    cpus: list.length,
    cpu_model: list[0]?.model ?? null,
    memory_mb: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    postgres,
  };
}
