import type { ClaimedPoll } from "../db/queries/claim-due-polls.js";
import { eventForStatus, type EventType } from "../delivery/events.js";
import type { Random } from "../lib/random.js";
import type { JobFetchResult } from "../upstream/client.js";
import { isTerminal, type UpstreamJob } from "../upstream/job.js";
import { ERROR_BACKOFF_FACTOR, growInterval, jitteredDelayMs, type CadenceOptions } from "./cadence.js";

/** 404s in a row after which a job counts as gone and its watches expire. */
export const NOT_FOUND_LIMIT = 3;

/** How one poll is written back (batched with others) and what it emits. */
export interface PollAck {
  id: string;
  tenantId: string;
  jobId: string;
  claimSeq: number;
  status: "active" | "done" | "expired";
  nextPollAt: Date;
  intervalMs: number;
  /** The job as just fetched; undefined keeps the stored one. */
  job?: UpstreamJob;
  notFoundCount: number;
  errorCount: number;
  lastError: string | null;
  /** 1 when an upstream request was made (0 for a release). */
  polled: 0 | 1;
  /** The event this poll produced for the job's watches, if any. */
  event?: { type: EventType; reason?: string };
  /** When the change was observed (the event's `timestamp`). */
  observedAt: Date;
}

export interface DecideContext {
  now: Date;
  cadence: CadenceOptions;
  random: Random;
}

/**
 * Pure: turns an upstream answer into the poll's next state. Errors of every kind keep the job watched
 * (backing off); only three 404s in a row end it, and a rejected key never does (a wrong key must not
 * expire everyone's watches).
 */
export function decidePoll(poll: ClaimedPoll, result: JobFetchResult, ctx: DecideContext): PollAck {
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
  const next = (factor?: number) => ({
    nextPollAt: after(jitteredDelayMs(poll.intervalMs, cadence, random)),
    intervalMs: growInterval(poll.intervalMs, cadence, factor),
  });

  switch (result.kind) {
    case "ok": {
      const { job } = result;
      const changed = job.status !== poll.emittedStatus;
      const event = changed ? eventForStatus(job.status) : undefined;
      return {
        ...base,
        ...next(),
        status: isTerminal(job.status) ? "done" : "active",
        job,
        notFoundCount: 0,
        errorCount: 0,
        lastError: null,
        ...(event ? { event: { type: event } } : {}),
      };
    }
    case "not_found": {
      const notFoundCount = poll.notFoundCount + 1;
      const expired = notFoundCount >= NOT_FOUND_LIMIT;
      return {
        ...base,
        ...next(),
        status: expired ? "expired" : "active",
        notFoundCount,
        errorCount: poll.errorCount,
        lastError: "upstream_not_found",
        ...(expired ? { event: { type: "watch.expired", reason: "job_not_found" } } : {}),
      };
    }
    case "rate_limited": {
      const { nextPollAt, intervalMs } = next();
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
        ...next(ERROR_BACKOFF_FACTOR),
        status: "active",
        notFoundCount: poll.notFoundCount,
        errorCount: poll.errorCount + 1,
        lastError: `upstream_${result.reason}${result.statusCode ? `_${result.statusCode}` : ""}`,
      };
  }
}

/**
 * Gives a claimed poll back untouched, due at `dueAt`: now on shutdown (the next claimer polls it at once),
 * a little later after a crash in the relay's own code (so a persistent bug cannot spin on one row).
 */
export function releasePoll(poll: ClaimedPoll, now: Date, dueAt: Date = now): PollAck {
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
