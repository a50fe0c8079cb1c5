import { setMaxListeners } from "node:events";
import pLimit from "p-limit";
import { coerceError, errorForLog } from "./error-for-log.js";
import type { Logger } from "./logger.js";

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

/** Claims and acks retry at least this often while the database is away (an ack must land before its lease ends). */
const MAX_BACKOFF_MS = 2_000;

/** An item whose processing crashed in the relay's own code is released due this much later, so a persistent bug cannot spin on one row. */
export const CRASH_RETRY_MS = 5_000;

/**
 * A claim/process/acknowledge loop (graphile-worker's worker loop, River's batch completer):
 * claims as many items as there are free slots, runs them under a p-limit, and acknowledges finished
 * results in batches: while one flush runs, the next results gather, so the write cost per item falls
 * as load rises. A slot frees as soon as its item is processed; results waiting for their write are
 * bounded separately (`maxUnacked`), which bounds memory and the ack backlog.
 */
export function createWorkerLoop<Item, Result>(options: WorkerLoopOptions<Item, Result>): WorkerLoop {
  const { name, concurrency, logger } = options;
  const idleMs = options.idleMs ?? 200;
  const maxUnacked = Math.max(concurrency, options.maxUnacked ?? 4 * concurrency);
  const limit = pLimit(concurrency);
  const minClaim = Math.max(1, Math.floor(concurrency / 8));
  const abort = new AbortController();
  // Every item in flight hangs a request deadline on this signal (src/lib/deadline.ts): up to `concurrency`
  // listeners at once is expected, not the leak Node's default limit of 10 warns about.
  setMaxListeners(0, abort.signal);

  let running = false;
  let stopping = false;
  let loopDone: Promise<void> = Promise.resolve();
  let unacked = 0; // claimed, not yet written back
  let inProcess = 0; // claimed, not yet processed
  let pending: Result[] = [];
  let flushing: Promise<void> | undefined;
  // Counted apart: a claim that succeeds says nothing about writes that keep failing, nor the reverse.
  let claimErrors = 0;
  let ackErrors = 0;
  const errors = () => claimErrors + ackErrors;
  let wake: (() => void) | undefined;
  let nudged = false; // a wake-up that arrived while nothing was sleeping (during a claim)
  let lastErrorLogAt = 0;
  let backlog = false; // the last claim filled its limit

  const signal = () => {
    const w = wake;
    wake = undefined;
    if (w) w();
    else nudged = true;
  };

  const sleep = (ms: number) =>
    new Promise<"timer" | "woken">((resolve) => {
      if (nudged) {
        nudged = false;
        resolve("woken");
        return;
      }
      const timer = setTimeout(() => {
        wake = undefined;
        resolve("timer");
      }, ms);
      wake = () => {
        clearTimeout(timer);
        resolve("woken");
      };
    });

  const logError = (what: string, err: Error) => {
    // A database outage would otherwise print one line per tick.
    const now = Date.now();
    const contiguousErrors = errors();
    if (contiguousErrors <= 1 || now - lastErrorLogAt > 10_000) {
      lastErrorLogAt = now;
      logger.error({ err: errorForLog(err), contiguousErrors }, `${name}: ${what} failed`);
    }
  };

  const backoffMs = () => Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(errors(), 6));

  async function flush(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        const startedAt = performance.now();
        const written = (await options.ack(batch)) ?? batch.length;
        if (written > 0) options.observe?.written(written, (performance.now() - startedAt) / 1000);
        ackErrors = 0;
        unacked -= batch.length;
        signal();
      } catch (err) {
        ackErrors++;
        logError("acknowledging results", coerceError(err));
        pending = batch.concat(pending);
        if (abort.signal.aborted && !running) return; // stopping and the database is gone: leases will expire
        await new Promise((r) => setTimeout(r, backoffMs()));
      }
    }
  }

  function scheduleFlush(): void {
    if (!flushing) {
      flushing = flush().finally(() => {
        flushing = undefined;
        // Stopping with the database gone: give up rather than spin; the leases will expire.
        if (pending.length > 0 && !(abort.signal.aborted && !running)) scheduleFlush();
      });
    }
  }

  const release = (item: Item): Result =>
    options.release ? options.release(item) : options.onCrash(item, new Error(`${name}: stopped before it started`));

  function run(item: Item): Promise<Result> {
    return limit(async () => {
      // Stopping: work that has not started is handed back at once, so the next process need not wait for the lease.
      if (stopping) return release(item);
      try {
        return await options.process(item, abort.signal);
      } catch (err) {
        const error = coerceError(err);
        logger.error({ err: errorForLog(error, { stack: true }) }, `${name}: processing crashed`);
        return options.onCrash(item, error);
      }
    });
  }

  async function claimSafe(n: number): Promise<Item[]> {
    try {
      const startedAt = performance.now();
      const items = await options.claim(n, { backlog });
      backlog = items.length === n;
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
    let lastWake: "timer" | "woken" = "timer";
    while (running) {
      const free = Math.min(concurrency - inProcess, maxUnacked - unacked);
      if (free > 0 && (free >= minClaim || unacked === 0 || lastWake === "timer")) {
        const items = await claimSafe(free);
        if (!running && items.length === 0) break;
        unacked += items.length;
        inProcess += items.length;
        for (const item of items) {
          void run(item).then((result) => {
            inProcess--;
            pending.push(result);
            scheduleFlush();
            // Enough slots for a claim: wake the loop (a wake per item would only re-arm its idle timer).
            if (concurrency - inProcess >= minClaim) signal();
          });
        }
        if (items.length === free && errors() === 0) continue; // more may be due
      }
      lastWake = await sleep(errors() > 0 ? backoffMs() : idleMs);
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      stopping = false;
      loopDone = loop();
    },
    async stop(graceMs) {
      running = false;
      stopping = true;
      signal();
      await loopDone;
      const deadline = Date.now() + graceMs;
      while (unacked > 0 && Date.now() < deadline) {
        await sleep(Math.min(20, deadline - Date.now())); // acks call signal() and end this early
      }
      if (unacked > 0) {
        abort.abort(); // in-flight requests end now; their results release the claims
        const hardDeadline = Date.now() + 1_000;
        while (unacked > 0 && Date.now() < hardDeadline) {
          await sleep(20);
        }
      }
      limit.clearQueue();
    },
    async runOnce() {
      const items = await options.claim(concurrency, { backlog: false });
      const results = await Promise.all(items.map(run));
      if (results.length > 0) await options.ack(results);
      return items.length;
    },
    nudge: signal,
    get contiguousErrors() {
      return errors();
    },
  };
}
