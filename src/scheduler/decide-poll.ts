import { eventForStatus } from "../domain/events.js";
import { isTerminal, jobStatusOf, printableStatus } from "../domain/job.js";
import { UNKNOWN_STATUS_ERROR, type ClaimedPoll, type PollUpdate } from "../domain/poll.js";
import type { Random } from "../lib/random.js";
import type { JobFetchResult } from "../upstream/client.js";
import { ERROR_BACKOFF_FACTOR, growInterval, jitteredDelayMs, type CadenceOptions } from "./cadence.js";

/** 404s in a row after which a job counts as gone and its watches expire. */
export const NOT_FOUND_LIMIT = 3;

export interface DecideContext {
  now: Date;
  cadence: CadenceOptions;
  random: Random;
  /** Plans the polls of a running job from now on (offsets from its start, ascending). */
  plan: (poll: ClaimedPoll, jobType: string | undefined, elapsedMs: number) => number[];
  /** Whether the job type has a learned distribution (then `plan` is predictive). Default: never. */
  hasModel?: (poll: ClaimedPoll, jobType: string) => boolean;
}

/**
 * Pure: turns an upstream answer into the poll's next state, or into nothing to write. The claim already
 * scheduled the next poll, so a job that is still in the same state costs no write at all. A status change
 * (or the first sight of the job) plans its polls anew; errors of every kind keep the job watched, backing
 * off; only three 404s in a row end it, and a rejected key never does (a wrong key must not expire
 * everyone's watches). A status the relay does not know (`upstream_unknown_status:<value>`) keeps the job
 * watched and backing off, its job object stored: the watch expires at its normal age unless a known status comes.
 * @returns the write-back, or undefined when nothing changed
 */
export function decidePoll(poll: ClaimedPoll, result: JobFetchResult, ctx: DecideContext): PollUpdate | undefined {
  const { now, cadence, random } = ctx;
  const base = {
    id: poll.id,
    tenantId: poll.tenantId,
    jobId: poll.jobId,
    claimSeq: poll.claimSeq,
    polled: 1 as const,
    observedAt: now,
  };
  const after = (delayMs: number) => new Date(now.getTime() + delayMs);
  const backoff = (factor?: number) => ({
    nextPollAt: after(jitteredDelayMs(poll.intervalMs, cadence, random)),
    intervalMs: growInterval(poll.intervalMs, cadence, factor),
  });

  switch (result.kind) {
    case "ok": {
      const { job } = result;
      const status = jobStatusOf(poll.service ?? "api", job.status);
      if (status === undefined) {
        const unknownStatus = printableStatus(job.status);
        return {
          ...base,
          ...backoff(),
          status: "active",
          job,
          notFoundCount: 0,
          errorCount: poll.errorCount + 1,
          lastError: `${UNKNOWN_STATUS_ERROR}${unknownStatus}`,
          unknownStatus,
        };
      }
      const changed = status !== poll.emittedStatus;
      const recovered = poll.errorCount > 0 || poll.notFoundCount > 0;
      const jobType = typeof job.type === "string" ? job.type.slice(0, 100) : undefined;
      const typeLearned = jobType !== undefined && poll.jobType === null;
      const predictive = jobType !== undefined && (ctx.hasModel?.(poll, jobType) ?? false);
      // Planned by backoff before its type had history: plan again now that it has (one write per job).
      const replan = predictive && !poll.plannedPredictive;
      if (!changed && !recovered && !typeLearned && !replan) return undefined;
      const event = changed ? eventForStatus(status) : undefined;
      const common = {
        ...base,
        job,
        jobStatus: status,
        notFoundCount: 0,
        errorCount: 0,
        lastError: null,
        ...(event ? { event: { type: event } } : {}),
      };
      if (isTerminal(status)) return { ...common, status: "done", nextPollAt: now, intervalMs: poll.intervalMs };
      const plan = ctx.plan(poll, jobType, now.getTime() - poll.startedAt.getTime());
      const [first, ...rest] = plan;
      const elapsedMs = now.getTime() - poll.startedAt.getTime();
      return {
        ...common,
        status: "active",
        nextPollAt: first === undefined ? backoff().nextPollAt : new Date(poll.startedAt.getTime() + first),
        // The spacing the job is polled at now: an error backs off from it, and past the plan's end the claim
        // grows it ×1.5 towards the maximum.
        intervalMs: first === undefined ? cadence.maxIntervalMs : Math.max(cadence.minIntervalMs, Math.round(first - elapsedMs)),
        planMs: rest,
        plannedPredictive: predictive,
      };
    }
    case "not_found": {
      const notFoundCount = poll.notFoundCount + 1;
      const expired = notFoundCount >= NOT_FOUND_LIMIT;
      return {
        ...base,
        ...backoff(),
        status: expired ? "expired" : "active",
        notFoundCount,
        errorCount: poll.errorCount,
        lastError: "upstream_not_found",
        ...(expired ? { event: { type: "watch.expired", reason: "job_not_found" } } : {}),
      };
    }
    case "rate_limited": {
      const { nextPollAt, intervalMs } = backoff();
      const waitMs = Math.max(result.retryAfterMs ?? 0, nextPollAt.getTime() - now.getTime());
      return {
        ...base,
        status: "active",
        nextPollAt: after(waitMs),
        intervalMs,
        notFoundCount: poll.notFoundCount,
        errorCount: poll.errorCount + 1,
        lastError: "upstream_rate_limited",
      };
    }
    case "unauthorized":
      return {
        ...base,
        status: "active",
        nextPollAt: after(cadence.maxIntervalMs),
        intervalMs: cadence.maxIntervalMs,
        notFoundCount: poll.notFoundCount,
        errorCount: poll.errorCount + 1,
        lastError: `upstream_unauthorized_${result.statusCode}`,
      };
    case "error":
      return {
        ...base,
        ...backoff(ERROR_BACKOFF_FACTOR),
        status: "active",
        notFoundCount: poll.notFoundCount,
        errorCount: poll.errorCount + 1,
        lastError: `upstream_${result.reason}${result.statusCode ? `_${result.statusCode}` : ""}`,
      };
  }
}

/**
 * Gives a claimed poll back, due at `dueAt`: now on shutdown (the next claimer polls it at once), a little
 * later after a crash in the relay's own code (so a persistent bug cannot spin on one row).
 */
export function releasePoll(poll: ClaimedPoll, now: Date, dueAt: Date = now): PollUpdate {
  return {
    id: poll.id,
    tenantId: poll.tenantId,
    jobId: poll.jobId,
    claimSeq: poll.claimSeq,
    status: "active",
    nextPollAt: dueAt,
    intervalMs: poll.intervalMs,
    notFoundCount: poll.notFoundCount,
    errorCount: poll.errorCount,
    lastError: null,
    polled: 0,
    observedAt: now,
  };
}
