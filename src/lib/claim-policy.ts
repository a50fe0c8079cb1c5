import type { WakeReason } from "./wake-signal.js";

/**
 * How many items a worker loop claims, and when: pure functions over the counts the loop keeps
 * (items in process, items not yet written back) and what woke it.
 */
export interface ClaimPolicy {
  /** Most items in process at once. */
  readonly concurrency: number;
  /** Most items claimed and not yet written back (at least `concurrency`): bounds memory and the ack backlog. */
  readonly maxUnacked: number;
  /** The fewest free slots worth a claim of their own (concurrency / 8, at least 1): under load, one claim per finished item would be a round trip per item. */
  readonly minClaim: number;
}

/** @param maxUnacked default 4 × concurrency; raised to `concurrency` if lower. */
export function createClaimPolicy(concurrency: number, maxUnacked = 4 * concurrency): ClaimPolicy {
  return {
    concurrency,
    maxUnacked: Math.max(concurrency, maxUnacked),
    minClaim: Math.max(1, Math.floor(concurrency / 8)),
  };
}

/**
 * How many items to claim now; 0 means sleep instead. Free slots are bounded twice: by `concurrency` (a slot
 * frees as soon as its item is processed) and by `maxUnacked` (processed results still waiting for their write).
 * Fewer than `minClaim` free slots wait for more, unless nothing is unacknowledged or the idle timer ran out:
 * then no claim is coming sooner, so take what fits.
 */
export function claimLimit(policy: ClaimPolicy, inProcess: number, unacked: number, wokenBy: WakeReason): number {
  const free = Math.min(policy.concurrency - inProcess, policy.maxUnacked - unacked);
  if (free <= 0) return 0;
  return free >= policy.minClaim || unacked === 0 || wokenBy === "timer" ? free : 0;
}

/** A processed item left enough free slots for a claim: wake the loop (a wake per item would only re-arm its idle timer). */
export function worthWaking(policy: ClaimPolicy, inProcess: number): boolean {
  return policy.concurrency - inProcess >= policy.minClaim;
}

/** The claim filled its limit: more is probably due than one claim takes (the next claim is told `backlog`). */
export function cameBackFull(limit: number, claimed: number): boolean {
  return claimed === limit;
}

/** A full claim with no errors outstanding: more may be due, so claim again without sleeping. */
export function claimAgainAtOnce(limit: number, claimed: number, contiguousErrors: number): boolean {
  return cameBackFull(limit, claimed) && contiguousErrors === 0;
}
