import type { ClaimedPoll, PollUpdate } from "../domain/poll.js";

interface Tracked {
  /** When this process's latest request for the poll was answered (its start, while it is out). */
  doneAtMs: number;
  /** The request is still out. */
  inFlight: boolean;
  /** The newest claim of the poll seen by this process. */
  claimSeq: number;
  /** The result of the latest request, until it is written. */
  ack?: PollUpdate | undefined;
}

/**
 * What this process knows of its own recent polls, which the database learns only when their results are
 * written: a claim can come back for a poll whose request is still out (a slow upstream), or a little less
 * than the minimum interval after the last answer (the claim scheduled the next poll from the claim time,
 * the answer came a few milliseconds later). The first sends no request and the answer to come is written
 * under the newest claim; the second waits out the rest of the interval — counted from the last answer, so
 * Rendley never receives two requests for a job closer than that, whatever the network did — and a result
 * not written yet moves to the newest claim instead of being dropped by the fence.
 */
export interface PollTracker {
  /**
   * Undefined when this process's request for the job is still out; else how long to wait before sending
   * (0, or what is left of the minimum interval since the last answer).
   */
  begin(claimed: ClaimedPoll): { waitMs: number } | undefined;
  /** The poll as of its newest claim (the fencing token the result must be written under). */
  latest(claimed: ClaimedPoll): ClaimedPoll;
  /** The request ended with this result (undefined: nothing to write). */
  finish(claimed: ClaimedPoll, ack: PollUpdate | undefined): void;
  /** Forgets entries older than the minimum interval (call now and then: the map holds recent polls only). */
  prune(): void;
  readonly size: number;
}

export function createPollTracker(minIntervalMs: number, nowMs: () => number): PollTracker {
  const tracked = new Map<string, Tracked>();
  return {
    begin(claimed) {
      const t = tracked.get(claimed.id);
      if (!t) {
        tracked.set(claimed.id, { doneAtMs: nowMs(), inFlight: true, claimSeq: claimed.claimSeq });
        return { waitMs: 0 };
      }
      t.claimSeq = Math.max(t.claimSeq, claimed.claimSeq);
      if (t.ack) t.ack.claimSeq = t.claimSeq; // perhaps not written yet: write it under the newest claim
      if (t.inFlight) return undefined;
      t.inFlight = true;
      t.ack = undefined;
      return { waitMs: Math.max(0, t.doneAtMs + minIntervalMs - nowMs()) };
    },
    latest(claimed) {
      const t = tracked.get(claimed.id);
      return t && t.claimSeq > claimed.claimSeq ? { ...claimed, claimSeq: t.claimSeq } : claimed;
    },
    finish(claimed, ack) {
      const t = tracked.get(claimed.id);
      if (!t) return;
      t.inFlight = false;
      t.doneAtMs = nowMs();
      t.ack = ack;
    },
    prune() {
      const cutoff = nowMs() - minIntervalMs;
      for (const [id, t] of tracked) if (!t.inFlight && t.doneAtMs < cutoff) tracked.delete(id);
    },
    get size() {
      return tracked.size;
    },
  };
}
