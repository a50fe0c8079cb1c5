import type { DurationModel } from "../domain/type-stats.js";

/** One finished job's completion time, waiting until its cohort is complete. */
export interface PendingObservation {
  tenantId: string;
  jobType: string;
  startedAtMs: number;
  durationMs: number;
}

/** How long after a job's start its cohort counts as complete, with no learned distribution yet. */
export const DEFAULT_HORIZON_MS = 15 * 60_000;
/** …and at most, whatever the distribution says. */
export const MAX_HORIZON_MS = 60 * 60_000;
/** The z-score of the 99.9th percentile: a cohort is complete once 99.9% of its jobs have finished. */
const Z_999 = 3.09;
/** Observations held at most (the oldest are dropped beyond it). */
const MAX_PENDING = 100_000;

/**
 * Holds completion times back until every job that started at the same time has had time to finish, then
 * hands them over in start order. Learning from completions as they come is biased short whenever arrivals
 * are not steady: right after a burst starts, only its quickest jobs have finished. A job that started more
 * than the horizon ago (the fit's 99.9th percentile) belongs to a complete cohort, so the stream handed over
 * is an unbiased sample of durations. A completion is seen only at the poll after it, so the horizon also
 * waits out `detectionLagMs`: without it the cohort's slowest jobs, finished but not yet polled, are missing
 * and the fit drifts short. The price: a type's first fit comes a horizon after its first jobs.
 * @param options.model the current fit of a job type, if any (sets its horizon)
 * @param options.detectionLagMs how long after finishing a job can still be running as far as the relay
 *   knows (the longest poll interval, plus the claim's lateness and the write)
 */
export function createLearningQueue(options: {
  nowMs: () => number;
  model: (tenantId: string, jobType: string) => DurationModel | undefined;
  detectionLagMs: number;
}) {
  let pending: PendingObservation[] = [];
  const horizonMs = (o: PendingObservation) => {
    const m = options.model(o.tenantId, o.jobType);
    const finished = m ? Math.min(MAX_HORIZON_MS, Math.exp(m.meanLog + Z_999 * m.sdLog)) : DEFAULT_HORIZON_MS;
    return finished + options.detectionLagMs;
  };
  return {
    add(observation: PendingObservation): void {
      pending.push(observation);
      if (pending.length > MAX_PENDING) pending = pending.slice(pending.length - MAX_PENDING);
    },
    /** Observations whose cohort is complete, oldest start first; they leave the queue. */
    takeComplete(): PendingObservation[] {
      const now = options.nowMs();
      const ready: PendingObservation[] = [];
      const keep: PendingObservation[] = [];
      for (const o of pending) (o.startedAtMs + horizonMs(o) <= now ? ready : keep).push(o);
      pending = keep;
      return ready.sort((a, b) => a.startedAtMs - b.startedAtMs);
    },
    get size(): number {
      return pending.length;
    },
  };
}
