import type { ClaimedPoll, ClaimSchedule } from "../domain/poll.js";
import type { DurationModel } from "../domain/type-stats.js";
import type { Random } from "../lib/random.js";
import { BACKOFF_FACTOR, JITTER_RATIO, type CadenceOptions } from "./cadence.js";
import { backoffPlan, predictivePlan } from "./plan-polls.js";

/**
 * When is a job polled next? The whole answer, in the order it happens:
 * 1. Registered (`createWatch`): due at once, with an empty plan.
 * 2. Every claim (`claimDuePolls`, with {@link claimSchedule}'s parameters) moves the job's next poll in the
 *    same statement, so an unchanged job costs no second write: to the next offset of its plan still ahead
 *    (at least the minimum interval ahead, so a late claim delays the next poll rather than skipping it), or,
 *    past the plan, to its interval grown ×1.5 up to the maximum, ±10% jitter.
 * 3. A poll that sees the job's status change, or its type for the first time, plans the job anew from now
 *    (`decidePoll` stores {@link PollTiming.plan}'s offsets): predictive when the (tenant, job type) has a learned
 *    completion-time distribution (polls dense where completion is likely, as many as backoff would make),
 *    else plain backoff (1 s, ×1.5, to the maximum).
 * 4. An upstream error backs off ×2 from the current interval (a 429: at least its Retry-After); a rejected key
 *    waits the maximum interval (`decidePoll`, with cadence.ts's helpers).
 * Whatever the plan, two polls of one job are never closer than the minimum interval (the poll tracker waits
 * out the rest when a claim comes back early).
 */
export interface PollTiming {
  /** Offsets from the job's start (ascending, all after `elapsedMs`) of its polls from now on. */
  plan(poll: ClaimedPoll, jobType: string | undefined, elapsedMs: number): number[];
  /** Whether the job's type has a learned distribution (its plan is then predictive). */
  hasModel(poll: ClaimedPoll, jobType: string): boolean;
  /** The parameters every claim schedules next polls with. */
  readonly claim: ClaimSchedule;
}

/** What a claim needs to schedule next polls: the cadence with backoff's growth and jitter. */
export function claimSchedule(cadence: CadenceOptions): ClaimSchedule {
  return { ...cadence, growthFactor: BACKOFF_FACTOR, jitterRatio: JITTER_RATIO };
}

/**
 * @param options.model the learned distribution of a (tenant, job type), if it has one
 */
export function createPollTiming(options: {
  cadence: CadenceOptions;
  random: Random;
  model: (tenantId: string, jobType: string) => DurationModel | undefined;
}): PollTiming {
  const { cadence, random, model } = options;
  return {
    plan(poll, jobType, elapsedMs) {
      const learned = jobType ? model(poll.tenantId, jobType) : undefined;
      return learned ? predictivePlan(elapsedMs, learned, cadence, random) : backoffPlan(elapsedMs, cadence, random);
    },
    hasModel: (poll, jobType) => model(poll.tenantId, jobType) !== undefined,
    claim: claimSchedule(cadence),
  };
}
