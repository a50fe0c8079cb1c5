import type { ClaimedPoll } from "../db/queries/claim-due-polls.js";
import type { PollAck } from "./decide-poll.js";

interface Tracked {
  /** When this process sent its latest request for the poll. */
  sentAtMs: number;
  /** The request is still out. */
  inFlight: boolean;
  /** The newest claim of the poll seen by this process. */
  claimSeq: number;
  /** The result of the latest request, until it is written. */
  ack?: PollAck | undefined;
}

/**
 * What this process knows of its own recent polls, which the database learns only when their results are
 * written: a claim can come back for a poll whose request is still out (a slow upstream) or whose result is
 * not written yet (a busy database), because the claim scheduled its next poll from the claim time. Such a
 * claim sends no request — two requests for one job are never less than the minimum interval apart — and the
 * pending result is written under the newest claim instead of being dropped by the fence.
 */
export interface PollTracker {
  /** The claim to poll with, or undefined when this process polled the job less than the minimum interval ago. */
  begin(claimed: ClaimedPoll): ClaimedPoll | undefined;
  /** The poll as of its newest claim (the fencing token the result must be written under). */
  latest(claimed: ClaimedPoll): ClaimedPoll;
  /** The request ended with this result (undefined: nothing to write). */
  finish(claimed: ClaimedPoll, ack: PollAck | undefined): void;
  /** Forgets entries older than the minimum interval (call now and then: the map holds recent polls only). */
  prune(): void;
  readonly size: number;
}

export function createPollTracker(minIntervalMs: number, nowMs: () => number): PollTracker {
  const tracked = new Map<string, Tracked>();
  return {
    begin(claimed) {
      const t = tracked.get(claimed.id);
      if (t && (t.inFlight || nowMs() - t.sentAtMs < minIntervalMs)) {
        t.claimSeq = Math.max(t.claimSeq, claimed.claimSeq);
        if (t.ack) t.ack.claimSeq = t.claimSeq; // not written yet: write it under the newest claim
        return undefined;
      }
      tracked.set(claimed.id, { sentAtMs: nowMs(), inFlight: true, claimSeq: claimed.claimSeq });
      return claimed;
    },
    latest(claimed) {
      const t = tracked.get(claimed.id);
      return t && t.claimSeq > claimed.claimSeq ? { ...claimed, claimSeq: t.claimSeq } : claimed;
    },
    finish(claimed, ack) {
      const t = tracked.get(claimed.id);
      if (!t) return;
      t.inFlight = false;
      t.ack = ack;
    },
    prune() {
      const cutoff = nowMs() - minIntervalMs;
      for (const [id, t] of tracked) if (!t.inFlight && t.sentAtMs < cutoff) tracked.delete(id);
    },
    get size() {
      return tracked.size;
    },
  };
}
