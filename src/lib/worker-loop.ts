import { setMaxListeners } from "node:events";
import pLimit from "p-limit";
import { createAckBatcher } from "./ack-batcher.js";
import { claimAgainAtOnce, claimLimit, cameBackFull, createClaimPolicy, worthWaking } from "./claim-policy.js";
import { coerceError, errorForLog } from "./error-for-log.js";
import type { Logger } from "./logger.js";
import { createWakeSignal, type WakeReason } from "./wake-signal.js";

export interface WorkerLoopOptions<Item, Result> {
  /** Name used in logs (`scheduler`, `delivery`). */
  name: string;
  /**
   * Claims up to `limit` due items (leases them in the database). `backlog`: the previous claim came back full,
   * so more is probably due than one claim takes (the claim may then plan for a long due range).
   */
  claim(limit: number, context: { backlog: boolean }): Promise<Item[]>;
  /** Does the work of one item (an HTTP call). Must not throw for expected failures; a throw is logged and turned into `onCrash`. */
  process(item: Item, signal: AbortSignal): Promise<Result>;
  /** What to acknowledge when `process` threw unexpectedly (normally: release the claim). */
  onCrash(item: Item, error: Error): Result;
  /** What to acknowledge for an item that was claimed but not started when the loop began stopping: its claim, handed back due now (default `onCrash`). */
  release?(item: Item): Result;
  /**
   * Writes a batch of results back in one round trip. Throwing keeps them for the next flush. May return how
   * many results it wrote, when some need no write (default: all of them); a batch with none is not observed.
   */
  ack(results: Result[]): Promise<void | number>;
  /** Most items in process at once (an upstream request or a callback each). */
  concurrency: number;
  /**
   * Most items claimed and not yet acknowledged (default 4 × concurrency). A processed item waits for its
   * batch write without holding a processing slot, so a slow write does not idle the slots.
   */
  maxUnacked?: number;
  /** How long to sleep when nothing was due (default 200 ms); `nudge()` cuts it short. */
  idleMs?: number;
  logger: Logger;
  /** Told of every claim and every batch write that succeeded: how many items, how long it took (metrics). */
  observe?: WorkerLoopObserver;
}

export interface WorkerLoopObserver {
  /** A claim returned `count` items (0 when nothing was due) after `seconds`. */
  claimed(count: number, seconds: number): void;
  /** A batch write of `count` results landed after `seconds` (a failed write, or one with nothing to write, is not reported). */
  written(count: number, seconds: number): void;
}

export interface WorkerLoop {
  /** Starts claiming in the background until `stop`. */
  start(): void;
  /** Stops claiming; waits for in-flight work up to `graceMs`, then aborts it (its results should release the claims), and flushes acknowledgements. */
  stop(graceMs: number): Promise<void>;
  /** One claim → process → acknowledge round, awaited (tests and tools; not while started). Returns how many items it handled. */
  runOnce(): Promise<number>;
  /** Wakes the loop (new work was just added by this process). */
  nudge(): void;
  /** Consecutive failed claims plus consecutive failed acks: 0 once both succeed again. */
  readonly contiguousErrors: number;
}

/** A worker loop that also runs items claimed elsewhere, in slots held for them. */
export interface AdoptingWorkerLoop<Item> extends WorkerLoop {
  /**
   * Holds up to `count` processing slots for items claimed elsewhere (rows created already leased to this
   * process), so the loop's own claims leave them free. Returns how many it holds: 0 unless the loop runs.
   * Every reservation ends with `adopt`.
   */
  reserve(count: number): number;
  /** Runs `items` (claimed elsewhere, at most `reserved` of them) in `reserved` slots from `reserve`, and frees the rest. */
  adopt(items: readonly Item[], reserved: number): void;
}

/** Claims and acks retry at least this often while the database is away (an ack must land before its lease ends). */
const MAX_BACKOFF_MS = 2_000;

/** An item whose processing crashed in the relay's own code is released due this much later, so a persistent bug cannot spin on one row. */
export const CRASH_RETRY_MS = 5_000;

/** During an outage (contiguous errors) a failed claim or write is logged at most this often, not once per tick. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * A claim/process/acknowledge loop (graphile-worker's worker loop): claims as many items as the claim
 * policy allows (src/lib/claim-policy.ts), runs them under a p-limit, and hands each result to an ack
 * batcher (src/lib/ack-batcher.ts) that writes them back in batches. A slot frees as soon as its item is
 * processed; results waiting for their write are bounded separately (`maxUnacked`), which bounds memory
 * and the ack backlog.
 */
export function createWorkerLoop<Item, Result>(options: WorkerLoopOptions<Item, Result>): AdoptingWorkerLoop<Item> {
  const { name, concurrency, logger } = options;
  const idleMs = options.idleMs ?? 200;
  const policy = createClaimPolicy(concurrency, options.maxUnacked);
  const limit = pLimit(concurrency);
  const abort = new AbortController();
  // Every item in flight hangs a request deadline on this signal (src/lib/deadline.ts): up to `concurrency`
  // listeners at once is expected, not the leak Node's default limit of 10 warns about.
  setMaxListeners(0, abort.signal);
  const wakeSignal = createWakeSignal(); // finished work, landed batches and nudge() cut the loop's sleep short

  // "stopping" from stop() on (also once it resolved): unstarted work is handed back, not run.
  let phase: "idle" | "running" | "stopping" = "idle";
  let loopDone: Promise<void> = Promise.resolve();
  let unacked = 0; // claimed, not yet written back
  let inProcess = 0; // claimed, not yet processed
  let backlog = false; // the last claim filled its limit
  // Counted apart from ack errors: a claim that succeeds says nothing about writes that keep failing, nor the reverse.
  let claimErrors = 0;
  const errors = (): number => claimErrors + acks.contiguousErrors;
  const logError = throttledErrorLog(logger, name, errors);
  const backoffMs = (): number => Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(errors(), 6));

  const acks = createAckBatcher<Result>({
    ack: (results) => options.ack(results),
    observe: options.observe,
    landed(count) {
      unacked -= count;
      wakeSignal.wake();
    },
    failed: (error) => logError("acknowledging results", error),
    retryDelayMs: backoffMs,
    givingUp: () => abort.signal.aborted && phase !== "running",
  });

  const release = (item: Item): Result =>
    options.release ? options.release(item) : options.onCrash(item, new Error(`${name}: stopped before it started`));

  function run(item: Item): Promise<Result> {
    return limit(async () => {
      // Stopping: work that has not started is handed back at once, so the next process need not wait for the lease.
      if (phase === "stopping") return release(item);
      try {
        return await options.process(item, abort.signal);
      } catch (err) {
        const error = coerceError(err);
        logger.error({ err: errorForLog(error, { stack: true }) }, `${name}: processing crashed`);
        return options.onCrash(item, error);
      }
    });
  }

  // The slot frees now; the result waits for its batch write without holding one.
  function processed(result: Result): void {
    inProcess--;
    acks.add(result);
    if (worthWaking(policy, inProcess)) wakeSignal.wake(); // enough free slots for a claim
  }

  async function claimSafe(n: number): Promise<Item[]> {
    try {
      const startedAt = performance.now();
      const items = await options.claim(n, { backlog });
      backlog = cameBackFull(n, items.length);
      options.observe?.claimed(items.length, (performance.now() - startedAt) / 1000);
      claimErrors = 0;
      return items;
    } catch (err) {
      claimErrors++;
      logError("claiming", coerceError(err));
      return [];
    }
  }

  async function loop(): Promise<void> {
    let wokenBy: WakeReason = "timer";
    while (phase === "running") {
      const n = claimLimit(policy, inProcess, unacked, wokenBy);
      if (n > 0) {
        const items = await claimSafe(n);
        if (phase !== "running" && items.length === 0) break;
        unacked += items.length;
        inProcess += items.length;
        for (const item of items) void run(item).then(processed);
        if (claimAgainAtOnce(n, items.length, errors())) continue; // more may be due
      }
      wokenBy = await wakeSignal.sleep(errors() > 0 ? backoffMs() : idleMs);
    }
  }

  return {
    start() {
      if (phase === "running") return;
      phase = "running";
      loopDone = loop();
    },
    async stop(graceMs) {
      phase = "stopping";
      wakeSignal.wake();
      await loopDone;
      const deadline = Date.now() + graceMs;
      // Landed batches wake each of these sleeps early.
      while (unacked > 0 && Date.now() < deadline) await wakeSignal.sleep(Math.min(20, deadline - Date.now()));
      if (unacked > 0) {
        abort.abort(); // in-flight requests end now; their results release the claims
        const hardDeadline = Date.now() + 1_000;
        while (unacked > 0 && Date.now() < hardDeadline) await wakeSignal.sleep(20);
      }
      limit.clearQueue();
    },
    async runOnce() {
      const items = await options.claim(concurrency, { backlog: false });
      const results = await Promise.all(items.map(run));
      if (results.length > 0) await options.ack(results);
      return items.length;
    },
    nudge: wakeSignal.wake,
    reserve(count) {
      if (phase !== "running") return 0;
      const held = Math.max(0, Math.min(count, policy.concurrency - inProcess, policy.maxUnacked - unacked));
      inProcess += held; // counted as claimed: the loop's own claims leave these slots alone, and stop() waits for them
      unacked += held;
      return held;
    },
    adopt(adopted, reserved) {
      const unused = reserved - adopted.length;
      if (unused < 0) throw new Error(`${name}: adopted ${adopted.length} items in ${reserved} reserved slots`);
      inProcess -= unused;
      unacked -= unused;
      for (const item of adopted) void run(item).then(processed); // stopping: run() hands each back at once
      if (unused > 0) wakeSignal.wake();
    },
    get contiguousErrors() {
      return errors();
    },
  };
}

/** Logs a failed claim or write: the first of a run of errors at once, then one line per interval while they last. */
function throttledErrorLog(logger: Logger, name: string, contiguousErrors: () => number) {
  let lastLoggedAt = 0;
  return (what: string, err: Error) => {
    const now = Date.now();
    const count = contiguousErrors();
    if (count <= 1 || now - lastLoggedAt > ERROR_LOG_INTERVAL_MS) {
      lastLoggedAt = now;
      logger.error({ err: errorForLog(err), contiguousErrors: count }, `${name}: ${what} failed`);
    }
  };
}
