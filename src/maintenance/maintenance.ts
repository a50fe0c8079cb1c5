import { acquireLease, releaseLease } from "../db/queries/acquire-lease.js";
import { pruneFinished, type PruneSummary } from "../db/queries/prune-finished.js";
import type { Deps } from "../deps.js";
import { coerceError, errorForLog } from "../lib/error-for-log.js";

export type { PruneSummary } from "../db/queries/prune-finished.js";

/** The lease row that elects the one process doing maintenance. */
export const MAINTENANCE_LEASE = "maintenance";
const DAY_MS = 86_400_000;

export interface Maintenance {
  /** Runs a pass shortly after start, then every MAINTENANCE_INTERVAL_MS. */
  start(): void;
  /** Clears the timer, waits for a running pass and gives the lease up. */
  stop(): Promise<void>;
  /** One pass, awaited (tests and tools): `ran` is false when another process holds the lease. Throws on a database error. */
  runOnce(): Promise<PruneSummary & { ran: boolean }>;
}

/**
 * Retention: prunes finished watches (and their deliveries, attempts and orphaned polls) older than
 * RETENTION_DAYS. With several relays on one database the `maintenance` lease elects one of them; its
 * owner renews it on every pass and keeps it while alive (ttl: two intervals), another takes over after that.
 * A pass deletes in small batches, yielding to the event loop between them, within a time budget.
 * @param options.batchSize watches per batch (default 500)
 * @param options.budgetMs time per pass (default 5 s, at most one interval so a pass never outlives its lease)
 * @param options.firstRunMs delay of the first pass after start (default 1 s)
 */
export function createMaintenance(
  deps: Pick<Deps, "config" | "db" | "clock" | "logger">,
  options: { workerId: string; batchSize?: number; budgetMs?: number; firstRunMs?: number },
): Maintenance {
  const { db, clock, config } = deps;
  const logger = deps.logger.child({ component: "maintenance" });
  const intervalMs = config.maintenanceIntervalMs;
  const batchSize = options.batchSize ?? 500;
  const budgetMs = options.budgetMs ?? Math.min(5_000, intervalMs);
  const owner = options.workerId;

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let started = false;
  let held = false;

  async function runOnce(): Promise<PruneSummary & { ran: boolean }> {
    const total = { watches: 0, deliveries: 0, attempts: 0, polls: 0 };
    const startedAt = clock.now();
    held = await acquireLease(db, { name: MAINTENANCE_LEASE, owner, now: startedAt, ttlMs: 2 * intervalMs });
    if (!held) return { ran: false, ...total };

    const olderThan = new Date(startedAt.getTime() - config.retentionDays * DAY_MS);
    let batches = 0;
    for (;;) {
      const got = await pruneFinished(db, { olderThan, batchSize });
      batches++;
      total.watches += got.watches;
      total.deliveries += got.deliveries;
      total.attempts += got.attempts;
      total.polls += got.polls;
      if (got.watches < batchSize || clock.now().getTime() - startedAt.getTime() >= budgetMs) break;
      await new Promise<void>((resolve) => setImmediate(resolve)); // let API requests in between batches
    }
    if (total.watches + total.polls > 0) {
      const ms = clock.now().getTime() - startedAt.getTime();
      logger.info({ ...total, batches, ms, olderThan: olderThan.toISOString() }, "pruned finished watches");
    }
    return { ran: true, ...total };
  }

  function schedule(delayMs: number): void {
    if (!started) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = runOnce()
        .catch((err: unknown) => {
          const error = coerceError(err);
          logger.error({ err: errorForLog(error) }, "maintenance pass failed");
        })
        .finally(() => {
          running = undefined;
          schedule(intervalMs);
        });
    }, delayMs);
    timer.unref();
  }

  return {
    start() {
      if (started) return;
      started = true;
      schedule(options.firstRunMs ?? Math.min(1_000, intervalMs));
    },
    async stop() {
      started = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
      if (held) {
        held = false;
        await releaseLease(db, { name: MAINTENANCE_LEASE, owner }).catch((err: unknown) => {
          logger.debug({ err: errorForLog(err) }, "could not release the maintenance lease");
        });
      }
    },
    runOnce,
  };
}
