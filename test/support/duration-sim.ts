import type { ClaimedPoll } from "../../src/domain/poll.js";
import { createSeededRandom, type Random } from "../../src/lib/random.js";
import { createDurationLearner, type DurationLearner } from "../../src/scheduler/duration-learner.js";

/** Standard normal (Box–Muller) from a seeded generator. */
export function normal(random: Random): number {
  const u = 1 - random.float(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.float());
}

/** One simulated job: started at `startMs`, completed after `durationMs`. */
export interface SimJob {
  startMs: number;
  durationMs: number;
  /** A status that is not `completed` at the end (failed, canceled). */
  endsAs?: "failed" | "canceled";
}

/** Jobs arriving evenly over `spanMs`, lognormal with `medianMs(start)` and σ `sdLog`. */
export function lognormalJobs(
  count: number,
  spanMs: number,
  medianMs: (startMs: number) => number,
  sdLog: number,
  seed = 1,
): SimJob[] {
  const random = createSeededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const startMs = (i * spanMs) / count;
    return { startMs, durationMs: medianMs(startMs) * Math.exp(sdLog * normal(random)) };
  });
}

/**
 * Drives a duration learner as the scheduler does: each job polled with plain backoff (1 s, ×1.5, 10 s) from
 * its start until it is seen finished, the learner refitted every simulated second. `onSecond` sees the
 * learner after each second.
 */
export function simulate(
  jobs: readonly SimJob[],
  untilMs: number,
  onSecond: (learner: DurationLearner, nowMs: number) => void = () => {},
  tenantId = "t1",
  jobType = "render",
): DurationLearner {
  let now = 0;
  const learner = createDurationLearner({ nowMs: () => now });
  const state = jobs.map(() => ({ nextMs: 0, intervalMs: 1_000, prevMs: null as number | null, seen: false, done: false }));
  for (let second = 0; second * 1_000 <= untilMs; second++) {
    for (let tick = 0; tick < 10; tick++) {
      now = second * 1_000 + tick * 100;
      jobs.forEach((job, i) => {
        const s = state[i]!;
        if (s.done || job.startMs > now || job.startMs + s.nextMs > now) return;
        const poll: ClaimedPoll = {
          id: `poll_${i}`,
          tenantId,
          jobId: `job_${i}`,
          claimSeq: 1,
          intervalMs: s.intervalMs,
          emittedStatus: s.seen ? "processing" : null,
          notFoundCount: 0,
          errorCount: 0,
          pollCount: 1,
          startedAt: new Date(job.startMs),
          prevPolledAt: s.prevMs === null ? null : new Date(s.prevMs),
          jobType: s.seen ? jobType : null,
          plannedPredictive: false,
        };
        const finished = now - job.startMs >= job.durationMs;
        const status = finished ? (job.endsAs ?? "completed") : "processing";
        learner.observe(poll, { kind: "ok", job: { id: poll.jobId, status, type: jobType } });
        s.seen = true;
        s.done = finished;
        s.prevMs = now;
        s.nextMs = now - job.startMs + s.intervalMs;
        s.intervalMs = Math.min(10_000, s.intervalMs * 1.5);
      });
    }
    learner.refit();
    onSecond(learner, now);
  }
  return learner;
}
