import { createWatch } from "../db/queries/create-watch.js";
import {
  claimDueListings,
  finishListing,
  loadListingSubscriptions,
  markJobsSeen,
  releaseListing,
  seenJobIds,
  type ClaimedListing,
} from "../db/queries/subscription-listings.js";
import type { Deps } from "../deps.js";
import { DEFAULT_EVENTS, JOB_EVENTS, type JobEvent } from "../domain/events.js";
import { isTerminal, isUsableJobId, jobStatusOf } from "../domain/job.js";
import { discoveryKey, listQuery } from "../domain/subscription.js";
import { errorForLog } from "../lib/error-for-log.js";
import { sha256Hex } from "../lib/hash.js";
import { planDiscovery, type ListedJob } from "./plan-discovery.js";
import type { UpstreamBudget } from "./upstream-budget.js";

export type SubscriptionListerDeps = Pick<
  Deps,
  "config" | "db" | "clock" | "random" | "logger" | "upstream" | "tenantKeys" | "metrics"
>;

export interface SubscriptionLister {
  /** Lists due filters every `tickMs` until stopped. */
  start(): void;
  /** Stops the timer and waits for a listing in progress. */
  stop(): Promise<void>;
  /** One pass, awaited (tests): claims the due listings and reads each; returns how many were read. */
  runOnce(): Promise<number>;
}

/** Listings claimed per pass; the claim moves each a whole interval on, so this bounds a pass, not the rate. */
const CLAIM_LIMIT = 4;
/** A listing the upstream budget had no room for is tried again this much later. */
const BUDGET_RETRY_MS = 1_000;

/**
 * Subscriptions' discovery: lists each distinct filter of a tenant (Rendley's `GET /v1/jobs?…`) once per
 * SUBSCRIPTION_LIST_INTERVAL_MS, one lister at a time across relays (the listing's lease), each listing inside the
 * upstream budget the polls share. Every job a subscription has not seen becomes a watch of the subscription,
 * which the ordinary scheduler polls: the list is discovery only. A watch is made once per (subscription, job)
 * whatever the relay or restart (its idempotency key is `sub:<subscription>:<job>`). A list too big or unreadable
 * is the listing's `last_error` and a metric; discovery resumes at the next listing.
 * @param options.onWatchesCreated wakes the scheduler so the new jobs are polled at once
 */
export function createSubscriptionLister(
  deps: SubscriptionListerDeps,
  options: { workerId: string; budget: Pick<UpstreamBudget, "take" | "onRateLimited">; onWatchesCreated?: () => void },
): SubscriptionLister {
  const { config, db, clock, upstream, metrics } = deps;
  const logger = deps.logger.child({ component: "subscriptions" });
  const { workerId, budget } = options;
  const tickMs = Math.min(1_000, Math.floor(config.subscriptionListIntervalMs / 4));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = true;

  async function fail(listing: ClaimedListing, error: string, outcome: string): Promise<void> {
    metrics.subscriptionListed(outcome, 0);
    logger.warn({ tenantId: listing.tenantId, filter: listing.filter, error }, "subscription listing failed");
    await finishListing(db, listing, { workerId, now: clock.now(), error });
  }

  async function read(listing: ClaimedListing): Promise<void> {
    const apiKey = await deps.tenantKeys.keyFor(listing.tenantId);
    if (!apiKey) return fail(listing, "no_key", "no_key");
    const maxBytes = config.subscriptionListMaxBytes;
    const res = await upstream.listJobs(listQuery(listing.filter), { apiKey, maxBytes });
    if (res.kind === "too_large") return fail(listing, `list_too_large: over ${maxBytes} bytes`, "too_large");
    if (res.kind === "error") {
      if (res.statusCode === 429) budget.onRateLimited();
      return fail(listing, `upstream_${res.reason}${res.statusCode ? `_${res.statusCode}` : ""}`, res.reason);
    }
    const jobs: ListedJob[] = res.jobs
      .filter((job) => isUsableJobId(job.id))
      .map((job) => ({ id: job.id, terminal: isTerminal(jobStatusOf("api", job.status)) }));
    const ids = jobs.map((j) => j.id);
    const idsDigest = sha256Hex([...ids].sort().join("\n"));
    const subscriptions = await loadListingSubscriptions(db, listing);
    let created = 0;
    // The same ids as last time and every subscription past its baseline: nothing can be new.
    if (idsDigest !== listing.idsDigest || subscriptions.some((s) => !s.baselineAt)) {
      const seenBy = await seenJobIds(
        db,
        subscriptions.map((s) => s.id),
        ids,
      );
      for (const sub of subscriptions) {
        const seen = seenBy.get(sub.id) ?? new Set<string>();
        const plan = planDiscovery(jobs, { firstListing: !sub.baselineAt, includeExisting: sub.includeExisting, seen });
        const marks = plan.baselined.map((jobId) => ({ jobId, watchId: null as string | null }));
        const events = sub.events.filter((e): e is JobEvent => (JOB_EVENTS as readonly string[]).includes(e));
        for (const jobId of plan.announce) {
          const stored = await createWatch(
            db,
            {
              tenantId: listing.tenantId,
              jobId,
              service: "api",
              subscriptionId: sub.id,
              callbackUrl: sub.callbackUrl,
              events: events.length > 0 ? events : DEFAULT_EVENTS,
              metadata: sub.metadata,
              retryScheduleMs: sub.retryScheduleMs ?? undefined,
              callbackHeaders: sub.callbackHeaders ?? undefined,
              idempotencyKey: discoveryKey(sub.id, jobId),
              requestHash: "discovered",
            },
            { now: clock.now(), random: deps.random, pollMinIntervalMs: config.pollMinIntervalMs },
          );
          marks.push({ jobId, watchId: stored.watchId });
          if (stored.kind === "created") created++;
        }
        if (marks.length > 0 || !sub.baselineAt) await markJobsSeen(db, sub.id, marks, clock.now());
      }
    }
    await finishListing(db, listing, { workerId, now: clock.now(), jobCount: jobs.length, idsDigest });
    metrics.subscriptionListed("ok", created);
    if (created > 0) {
      logger.info({ tenantId: listing.tenantId, filter: listing.filter, created }, "subscriptions discovered jobs");
      options.onWatchesCreated?.();
    }
  }

  async function pass(): Promise<number> {
    const now = clock.now();
    const claimed = await claimDueListings(db, {
      workerId,
      now,
      intervalMs: config.subscriptionListIntervalMs,
      leaseMs: config.upstreamTimeoutMs + 30_000,
      limit: CLAIM_LIMIT,
    });
    let count = 0;
    for (const listing of claimed) {
      if (budget.take(1) < 1) {
        await releaseListing(db, listing, { workerId, dueAt: new Date(clock.now().getTime() + BUDGET_RETRY_MS) });
        continue;
      }
      try {
        await read(listing);
        count++;
      } catch (err) {
        logger.error({ err: errorForLog(err), tenantId: listing.tenantId }, "subscription listing crashed");
        await finishListing(db, listing, { workerId, now: clock.now(), error: "internal_error" }).catch(() => {});
      }
    }
    return count;
  }

  function runOnce(): Promise<number> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((err: unknown) => logger.error({ err: errorForLog(err) }, "subscription listing pass failed"))
        .finally(schedule);
    }, tickMs);
    timer.unref?.();
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => {});
    },
    runOnce,
  };
}
