import { setTimeout } from "node:timers/promises";
import { claimDuePolls } from "../db/queries/claim-due-polls.js";
import { loadJobTypeStats, saveJobTypeStats } from "../db/queries/job-type-stats.js";
import { recordPollResults } from "../db/queries/record-poll-results.js";
import { heartbeat } from "../db/queries/relay-heartbeat.js";
import type { Deps } from "../deps.js";
import type { DeliveryIntake } from "../domain/delivery.js";
import type { ClaimedPoll, PollUpdate } from "../domain/poll.js";
import { statsKey, type TypeStats } from "../domain/type-stats.js";
import { errorForLog } from "../lib/error-for-log.js";
import { newId } from "../lib/ids.js";
import { CRASH_RETRY_MS, createWorkerLoop, type WorkerLoop } from "../lib/worker-loop.js";
import type { JobFetchResult } from "../upstream/client.js";
import { decidePoll, releasePoll } from "./decide-poll.js";
import { createDurationLearner } from "./duration-learner.js";
import { modelOfStored } from "./duration-stats.js";
import { planFanOut } from "./plan-fan-out.js";
import { createPollTiming } from "./poll-timing.js";
import { createPollTracker } from "./poll-tracker.js";
import { createUpstreamBudget, type UpstreamBudget } from "./upstream-budget.js";

/** Learned job-type fits are re-read this often (other replicas learn too). */
const STATS_REFRESH_MS = 30_000;
/** This process's usable fits are stored this often (for other replicas and the next start). */
const STATS_SAVE_MS = 10_000;
/** Relays sharing an upstream budget say they are alive this often. */
const HEARTBEAT_MS = 5_000;

/** What the scheduler uses. */
export type SchedulerDeps = Pick<
  Deps,
  "config" | "db" | "clock" | "random" | "logger" | "upstream" | "upstreamHealth" | "tenantKeys" | "metrics"
>;

/**
 * The poller: claims due jobs from the database (each claim also schedules the job's next poll), fetches
 * each from Rendley (at most POLL_CONCURRENCY at once), and writes back, in batches, only the polls that
 * changed something, creating the callbacks of jobs that changed state. Polls are placed by predictive
 * polling once a job type has history, else by plain backoff (poll-timing.ts: when a job is polled next).
 * @param options.onDeliveriesCreated called after a write created deliveries that need a claim (wakes the delivery worker)
 * @param options.deliveries this process's delivery worker: the messages of the events this scheduler sees are
 *   created leased to it, as many as it can send at once, and handed to it without a claim (recordPollResults)
 */
export function createScheduler(
  deps: SchedulerDeps,
  options: { workerId: string; onDeliveriesCreated?: () => void; deliveries?: DeliveryIntake | undefined },
): WorkerLoop & { readonly budget: UpstreamBudget } {
  const { config, db, clock, random, upstream, upstreamHealth } = deps;
  const logger = deps.logger.child({ component: "scheduler" });
  const cadence = { minIntervalMs: config.pollMinIntervalMs, maxIntervalMs: config.pollMaxIntervalMs };
  const tracker = createPollTracker(cadence.minIntervalMs, () => clock.now().getTime());
  let prunedAt = 0;
  let stats = new Map<string, TypeStats>();
  let statsLoadedAt = -Infinity;
  let lastAuthLogAt = 0;
  /** Unknown statuses already logged by this process: each is logged once, counted always. */
  const loggedStatuses = new Set<string>();
  function unknownStatus(value: string, poll: ClaimedPoll): void {
    deps.metrics.unknownStatus(value);
    if (loggedStatuses.has(value) || loggedStatuses.size >= 1000) return;
    loggedStatuses.add(value);
    logger.warn(
      { status: value, jobId: poll.jobId, service: poll.service ?? "api", tenantId: poll.tenantId },
      "Rendley answered a job status the relay does not know: the job stays watched, polled with backoff",
    );
  }
  let relays = 1;
  let heartbeatAt = -Infinity;
  const budget = createUpstreamBudget({ maxRps: config.upstreamMaxRps, nowMs: () => clock.now().getTime(), share: () => relays });

  /** With a budget, relays count each other so each takes its share. */
  async function beat(): Promise<void> {
    if (!budget.limited || clock.now().getTime() - heartbeatAt < HEARTBEAT_MS) return;
    heartbeatAt = clock.now().getTime();
    relays = await heartbeat(db, { workerId: options.workerId, now: clock.now(), ttlMs: 3 * HEARTBEAT_MS }).catch(() => relays);
  }

  async function refreshStats(): Promise<void> {
    if (clock.now().getTime() - statsLoadedAt < STATS_REFRESH_MS) return;
    statsLoadedAt = clock.now().getTime();
    try {
      stats = await loadJobTypeStats(db);
    } catch (err) {
      logger.warn({ err: errorForLog(err) }, "could not load learned job durations; planning with backoff");
    }
  }

  // Completion times are learned from every poll this process makes (running jobs included); a type without
  // a usable fit of its own plans with the one stored by another relay or an earlier run, else with backoff.
  const learner = createDurationLearner({ nowMs: () => clock.now().getTime() });
  const timing = createPollTiming({
    cadence,
    random,
    model: (tenantId, jobType) => learner.model(tenantId, jobType) ?? modelOfStored(stats.get(statsKey(tenantId, jobType))),
  });
  let learnedAt = 0;
  let savedAt = 0;

  /** Refits the types with news (at most once a second) and stores the usable fits (every 10 s). */
  async function learn(): Promise<void> {
    const now = clock.now().getTime();
    if (now - learnedAt < 1_000) return;
    learnedAt = now;
    learner.refit();
    if (now - savedAt < STATS_SAVE_MS) return;
    savedAt = now;
    const changed = learner.takeChanged();
    for (const c of changed) stats.set(statsKey(c.tenantId, c.jobType), c.stats);
    await saveJobTypeStats(db, changed, clock.now());
  }

  const loop = createWorkerLoop<ClaimedPoll, PollUpdate | undefined>({
    name: "scheduler",
    concurrency: config.pollConcurrency,
    // A poll is at most this late (plus the claim): 10 empty claims a second cost next to nothing (partial index).
    idleMs: 100,
    logger,
    observe: deps.metrics.loopObserver("scheduler"),
    async claim(limit, { backlog }) {
      await Promise.all([refreshStats(), beat()]);
      await learn().catch((err: unknown) => logger.warn({ err: errorForLog(err) }, "could not store learned job durations"));
      if (clock.now().getTime() - prunedAt >= 1_000) {
        prunedAt = clock.now().getTime();
        tracker.prune();
      }
      const allowed = budget.take(limit);
      if (allowed === 0) return [];
      // Under a budget that cannot cover everything due, poll the likeliest to have finished first.
      const order = allowed < limit ? "likely" : "due";
      const polls = await claimDuePolls(db, {
        workerId: options.workerId,
        limit: allowed,
        now: clock.now(),
        schedule: timing.claim,
        order,
        backlog,
      });
      deps.metrics.pollsClaimed(polls, clock.now());
      return polls;
    },
    async process(claimed, signal) {
      // Claimed again while this process's request for the job is out: no second request. Claimed again a
      // little under the minimum interval after the last one: wait out the rest, so requests stay ≥ 1 s apart.
      const start = tracker.begin(claimed);
      if (!start) return undefined;
      const poll = claimed;
      const latest = () => tracker.latest(claimed);
      let ack: PollUpdate | undefined;
      try {
        if (start.waitMs > 0) await setTimeout(start.waitMs, undefined, { signal }).catch(() => {});
        if (signal.aborted) return releasePoll(latest(), clock.now());
        const apiKey = await deps.tenantKeys.keyFor(poll.tenantId);
        const result: JobFetchResult = apiKey
          ? await upstream.getJob(poll.jobId, { apiKey, service: poll.service, signal })
          : { kind: "error", reason: "no_key", message: "the tenant has no Rendley API key" };
        if (signal.aborted) return releasePoll(latest(), clock.now());
        if (result.kind === "unauthorized") {
          upstreamHealth.recordRejected(poll.tenantId, result.statusCode);
          if (Date.now() - lastAuthLogAt > 60_000) {
            lastAuthLogAt = Date.now();
            logger.error(
              { statusCode: result.statusCode, jobId: poll.jobId, tenantId: poll.tenantId },
              "Rendley rejected the tenant's API key (RENDLEY_API_KEY for the default tenant): polls keep backing off and no watch expires until the key is fixed",
            );
          }
        } else if (result.kind !== "error") {
          upstreamHealth.recordAccepted(poll.tenantId);
        }
        if (result.kind === "rate_limited") budget.onRateLimited();
        learner.observe(latest(), result);
        ack = decidePoll(latest(), result, { now: clock.now(), cadence, random, plan: timing.plan, hasModel: timing.hasModel });
        deps.metrics.pollFinished(result, ack);
        if (ack?.unknownStatus !== undefined) unknownStatus(ack.unknownStatus, poll);
        if (ack?.event) logger.info({ jobId: poll.jobId, event: ack.event.type }, "job changed");
        return ack;
      } finally {
        tracker.finish(claimed, ack);
      }
    },
    onCrash: (poll) => releasePoll(poll, clock.now(), new Date(clock.now().getTime() + CRASH_RETRY_MS)),
    async ack(results) {
      const acks = results.filter((a): a is PollUpdate => a !== undefined);
      if (acks.length === 0) return 0; // every poll unchanged: its claim already wrote its next poll time
      const now = clock.now();
      const summary = await recordPollResults(db, acks, {
        intake: options.deliveries,
        now,
        planFanOut: (updates, watches) =>
          planFanOut(updates, watches, { newDeliveryId: () => newId("msg", random, now.getTime()) }),
      });
      if (summary.fenced > 0) logger.warn({ fenced: summary.fenced }, "poll results dropped: a later claim owns them");
      if (summary.deliveriesCreated > summary.handedOver) options.onDeliveriesCreated?.();
      return acks.length;
    },
  });
  return {
    ...loop,
    /** The upstream budget this process's polls take from (subscription listings take from it too). */
    budget,
    get contiguousErrors() {
      return loop.contiguousErrors;
    },
    start() {
      statsLoadedAt = -Infinity; // a (re)started scheduler plans with the freshest learned fits
      loop.start();
    },
  };
}
