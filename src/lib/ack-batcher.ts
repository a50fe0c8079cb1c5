import { coerceError } from "./error-for-log.js";

export interface AckBatcherOptions<Result> {
  /** Writes a batch in one round trip; throwing keeps it for the next attempt. May return how many it wrote (default: all). */
  ack(results: Result[]): Promise<void | number>;
  /** Told of every write that landed and wrote something: how many results, how long it took (metrics). */
  observe?: { written(count: number, seconds: number): void };
  /** A batch of `count` results landed: they are no longer unacknowledged. */
  landed(count: number): void;
  /** A write failed; `contiguousErrors` already counts it. */
  failed(error: Error): void;
  /** How long to wait before retrying a failed batch. */
  retryDelayMs(): number;
  /** True when stopping has aborted the work: a failed batch is then given up, not retried (the leases will expire). */
  givingUp(): boolean;
}

export interface AckBatcher<Result> {
  /** Adds a result to the next batch, and starts a flush unless one is running. */
  add(result: Result): void;
  /** Consecutive failed writes: 0 once one lands. */
  readonly contiguousErrors: number;
}

/**
 * Acknowledges results in batches (River's batch completer): one flush at a time, and while it runs the
 * next results gather, so the write cost per result falls as load rises. A failed batch goes back ahead of
 * the results that gathered meanwhile and is retried after `retryDelayMs()`: results keep their order,
 * and none is lost or written twice.
 */
export function createAckBatcher<Result>(options: AckBatcherOptions<Result>): AckBatcher<Result> {
  let pending: Result[] = [];
  let flushing: Promise<void> | undefined;
  let contiguousErrors = 0;

  async function flush(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        const startedAt = performance.now();
        const written = (await options.ack(batch)) ?? batch.length;
        if (written > 0) options.observe?.written(written, (performance.now() - startedAt) / 1000);
        contiguousErrors = 0;
        options.landed(batch.length);
      } catch (err) {
        contiguousErrors++;
        options.failed(coerceError(err));
        pending = batch.concat(pending);
        if (options.givingUp()) return; // stopping and the database is gone: leases will expire
        await new Promise((r) => setTimeout(r, options.retryDelayMs()));
      }
    }
  }

  function scheduleFlush(): void {
    if (!flushing) {
      flushing = flush().finally(() => {
        flushing = undefined;
        // A result may have arrived after the last batch was taken; but stopping with the database gone,
        // give up rather than spin (no backoff here): the leases will expire.
        if (pending.length > 0 && !options.givingUp()) scheduleFlush();
      });
    }
  }

  return {
    add(result) {
      pending.push(result);
      scheduleFlush();
    },
    get contiguousErrors() {
      return contiguousErrors;
    },
  };
}
