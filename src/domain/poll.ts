import type { EventType } from "./events.js";
import type { JobService, JobStatus, UpstreamJob } from "./job.js";

/** `last_error` of a job whose status the relay does not know, followed by the status (printable, ≤ 32 characters). */
export const UNKNOWN_STATUS_ERROR = "upstream_unknown_status:";

/**
 * A poll row's state: `active` (due at next_poll_at), `done` (the job finished), `expired` (the job is gone),
 * `idle` (every watch on it was canceled).
 */
export type PollStatus = "active" | "done" | "expired" | "idle";

/** A poll row claimed by this process for one upstream request. */
export interface ClaimedPoll {
  id: string;
  tenantId: string;
  jobId: string;
  /** The Rendley service that owns the job (where it is polled, how its statuses are spelt); default `api`. */
  service?: JobService | undefined;
  /** Fencing token: the write-back only applies if no later claim took the row. */
  claimSeq: number;
  intervalMs: number;
  /** The status whose event was last emitted for this job (null: none yet, or reactivated by a new watch). */
  emittedStatus: string | null;
  notFoundCount: number;
  errorCount: number;
  /** Polls of this job so far, this one included. */
  pollCount: number;
  startedAt: Date;
  /** When the previous poll ran (null for the first). */
  prevPolledAt: Date | null;
  jobType: string | null;
  /** The stored plan came from a learned distribution (false: backoff). */
  plannedPredictive: boolean;
  /** When the poll fell due (next_poll_at before this claim moved it): the claim's lateness is measured from it. */
  dueAt?: Date;
}

/** How one poll is written back (batched with others) and what it emits. */
export interface PollUpdate {
  id: string;
  tenantId: string;
  jobId: string;
  claimSeq: number;
  status: Exclude<PollStatus, "idle">;
  nextPollAt: Date;
  intervalMs: number;
  /** A new plan (offsets from the start, after nextPollAt); undefined keeps the stored one. */
  planMs?: number[];
  /** With planMs: it came from a learned distribution. */
  plannedPredictive?: boolean;
  /** The job as just fetched; undefined keeps the stored one. */
  job?: UpstreamJob;
  /** The job's status in the relay's spelling, with `job`; undefined (an unknown status) keeps the stored one. */
  jobStatus?: JobStatus;
  /** The job answered a status the relay does not know: that status, printable and cut (also in `lastError`). */
  unknownStatus?: string;
  notFoundCount: number;
  errorCount: number;
  lastError: string | null;
  /** 1 when an upstream request was made (0 for a release, which also gives the claimed poll back). */
  polled: 0 | 1;
  /** The event this poll produced for the job's watches, if any. */
  event?: { type: EventType; reason?: string };
  /** When the change was observed (the event's `timestamp`). */
  observedAt: Date;
}

/**
 * How a claim schedules each claimed job's next poll in the same statement: the next offset of its plan
 * (at least `minIntervalMs` ahead), or past the plan its interval grown by `growthFactor` up to
 * `maxIntervalMs`, with ±`jitterRatio` jitter.
 */
export interface ClaimSchedule {
  minIntervalMs: number;
  maxIntervalMs: number;
  growthFactor: number;
  jitterRatio: number;
}
