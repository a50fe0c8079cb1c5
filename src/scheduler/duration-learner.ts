import { isTerminal, jobStatusOf } from "../domain/job.js";
import type { ClaimedPoll } from "../domain/poll.js";
import { statsKey, type DurationModel, type TypeStats } from "../domain/type-stats.js";
import type { JobFetchResult } from "../upstream/client.js";
import { fitCensored, fitDistance, type CensoredFit, type DurationEvidence } from "./censored-fit.js";
import { isUsableFit, planningModel, statsOfFit } from "./duration-stats.js";

/** Jobs kept per type; past it, the type is sampled more thinly (by a hash of the job), so the window stays long. */
export const MAX_JOBS_PER_TYPE = 2_000;
/** Types tracked at once; the least recently seen is forgotten first (it plans with its stored fit). */
const MAX_TYPES = 200;
/** A type is refitted at most this often. */
const REFIT_MS = 2_000;
/** One `refit` call spends about this long at most; the types it did not reach go first next time. */
const REFIT_BUDGET_MS = 20;
/**
 * How fast old jobs stop counting: a job's weight is e^(−Δ/τ), Δ how long before the type's newest job it
 * started (a type nobody starts keeps what it knows), τ the type's fitted median, at least 20 s, and at
 * least the span of its last 200 starts (a type started rarely keeps enough jobs).
 */
const MIN_TAU_MS = 20_000;
const TAU_JOBS = 200;
const MIN_WEIGHT = 1e-3;

interface TrackedJob {
  startedAtMs: number;
  /** Age when last seen running. */
  runningMs: number;
  /** Age when seen completed. */
  finishedMs?: number;
  /** Failed or canceled: it stays what it says (it ran at least `runningMs`), and is no longer updated. */
  stopped?: boolean;
}

interface TypeWindow {
  tenantId: string;
  jobType: string;
  jobs: Map<string, TrackedJob>;
  /** Only jobs whose hash has this many low zero bits are tracked (0: every job). */
  sampleBits: number;
  dirty: boolean;
  fittedAtMs: number;
  seenAtMs: number;
  fit?: CensoredFit;
  usable: boolean;
  saved: boolean;
}

/** FNV-1a: which jobs a thinly sampled type keeps. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
const sampled = (id: string, bits: number) => bits === 0 || (hash(id) & ((1 << bits) - 1)) === 0;

/**
 * Learns each (tenant, job type)'s completion-time distribution from every poll this process makes, from
 * the first jobs on: a job still running at age a says "longer than a" (right-censored), a completed one
 * "between the last two polls" (interval-censored), and the lognormal is fitted to both by maximum
 * likelihood (`fitCensored`). Recent jobs weigh more (by start time, which leaves the fit unbiased), so
 * the fit follows a Rendley that speeds up or slows down within a few medians. A fit with few
 * completions, a wide uncertainty or a shape far from lognormal is not used: the type stays on backoff
 * (or on the fit stored by another relay).
 */
export function createDurationLearner(options: { nowMs: () => number }) {
  const types = new Map<string, TypeWindow>();

  function windowOf(poll: ClaimedPoll, jobType: string): TypeWindow {
    const key = statsKey(poll.tenantId, jobType);
    let w = types.get(key);
    if (!w) {
      if (types.size >= MAX_TYPES) {
        const [oldest] = [...types.entries()].sort((a, b) => a[1].seenAtMs - b[1].seenAtMs);
        if (oldest) types.delete(oldest[0]);
      }
      w = {
        tenantId: poll.tenantId,
        jobType,
        jobs: new Map(),
        sampleBits: 0,
        dirty: false,
        fittedAtMs: 0,
        seenAtMs: 0,
        usable: false,
        saved: true,
      };
      types.set(key, w);
    }
    w.seenAtMs = options.nowMs();
    return w;
  }

  function track(w: TypeWindow, id: string, job: TrackedJob): void {
    w.jobs.set(id, job);
    if (w.jobs.size <= MAX_JOBS_PER_TYPE) return;
    w.sampleBits++;
    for (const key of w.jobs.keys()) if (!sampled(key, w.sampleBits)) w.jobs.delete(key);
  }

  function refitType(w: TypeWindow, now: number): void {
    w.dirty = false;
    w.fittedAtMs = now;
    const starts = [...w.jobs.values()].map((j) => j.startedAtMs).sort((a, b) => b - a);
    const newest = starts[0] ?? now;
    const median = w.fit ? Math.exp(w.fit.meanLog) : Infinity;
    const tau = Math.max(MIN_TAU_MS, median, newest - (starts[Math.min(TAU_JOBS, starts.length) - 1] ?? newest));
    const evidence: DurationEvidence[] = [];
    for (const [id, job] of w.jobs) {
      const weight = Number.isFinite(tau) ? Math.exp(-(newest - job.startedAtMs) / tau) : 1;
      if (weight < MIN_WEIGHT) w.jobs.delete(id);
      else evidence.push({ runningMs: job.runningMs, finishedMs: job.finishedMs, weight });
    }
    const fit = fitCensored(evidence, w.fit);
    if (!fit || !Number.isFinite(fit.meanLog) || !Number.isFinite(fit.sdLog)) return;
    w.fit = fit;
    w.usable = isUsableFit(fit, fitDistance(evidence, fit));
    w.saved = false;
  }

  return {
    /** Takes what one poll's answer says about its job's completion time. */
    observe(poll: ClaimedPoll, result: JobFetchResult): void {
      if (result.kind !== "ok" || typeof result.job.type !== "string") return;
      const status = jobStatusOf(poll.service ?? "api", result.job.status);
      if (status === undefined) return;
      const now = options.nowMs();
      const ageMs = now - poll.startedAt.getTime();
      const w = windowOf(poll, result.job.type.slice(0, 100));
      if (!sampled(poll.id, w.sampleBits)) return;
      const known = w.jobs.get(poll.id);
      if (known?.finishedMs !== undefined || known?.stopped) return;
      if (!isTerminal(status)) {
        if (known) known.runningMs = Math.max(known.runningMs, ageMs);
        else track(w, poll.id, { startedAtMs: poll.startedAt.getTime(), runningMs: ageMs });
      } else if (status === "completed") {
        // Seen running (by this process, or before its last poll by any): it finished since.
        const runningMs =
          known?.runningMs ??
          (poll.emittedStatus !== null && poll.prevPolledAt ? poll.prevPolledAt.getTime() - poll.startedAt.getTime() : undefined);
        if (runningMs === undefined || runningMs <= 0 || ageMs <= runningMs) return;
        if (known) known.finishedMs = ageMs;
        else track(w, poll.id, { startedAtMs: poll.startedAt.getTime(), runningMs, finishedMs: ageMs });
      } else if (known) {
        // A failure or a cancel says nothing about how long the work takes, only that it ran this long.
        known.stopped = true;
      } else {
        return;
      }
      w.dirty = true;
    },
    /** Refits the types with news (each at most every 2 s, about 20 ms of work per call at most). */
    refit(): void {
      const now = options.nowMs();
      const started = performance.now();
      const due = [...types.values()].filter((w) => w.dirty && now - w.fittedAtMs >= REFIT_MS);
      for (const w of due.sort((a, b) => a.fittedAtMs - b.fittedAtMs)) {
        refitType(w, now);
        if (performance.now() - started > REFIT_BUDGET_MS) break;
      }
    },
    /** The type's own fit, widened by its uncertainty, when it is usable. */
    model(tenantId: string, jobType: string): DurationModel | undefined {
      const w = types.get(statsKey(tenantId, jobType));
      return w?.usable && w.fit ? planningModel(w.fit) : undefined;
    },
    /** The current fit of a type (usable or not), for inspection. */
    fitOf(tenantId: string, jobType: string): (CensoredFit & { usable: boolean; jobs: number }) | undefined {
      const w = types.get(statsKey(tenantId, jobType));
      return w?.fit ? { ...w.fit, usable: w.usable, jobs: w.jobs.size } : undefined;
    },
    /** Usable fits changed since the last call, to store. */
    takeChanged(): { tenantId: string; jobType: string; stats: TypeStats }[] {
      const out: { tenantId: string; jobType: string; stats: TypeStats }[] = [];
      for (const w of types.values()) {
        if (w.saved || !w.usable || !w.fit) continue;
        w.saved = true;
        out.push({ tenantId: w.tenantId, jobType: w.jobType, stats: statsOfFit(w.fit) });
      }
      return out;
    },
  };
}

export type DurationLearner = ReturnType<typeof createDurationLearner>;
