import { claimDuePolls, type ClaimedPoll } from "../db/queries/claim-due-polls.js";
import { recordPollResults } from "../db/queries/record-poll-results.js";
import type { Deps } from "../deps.js";
import { CRASH_RETRY_MS, createWorkerLoop, type WorkerLoop } from "../lib/worker-loop.js";
import type { JobFetchResult } from "../upstream/client.js";
import { decidePoll, releasePoll, type PollAck } from "./decide-poll.js";

/**
 * The poller: claims due jobs from the database, fetches each from Rendley (at most POLL_CONCURRENCY at
 * once), and writes the outcomes back in batches, creating the callbacks of jobs that changed.
 * @param options.onDeliveriesCreated called after a write created deliveries (wakes the delivery worker)
 */
export function createScheduler(deps: Deps, options: { workerId: string; onDeliveriesCreated?: () => void }): WorkerLoop {
  const { config, db, clock, random, upstream, upstreamHealth } = deps;
  const logger = deps.logger.child({ component: "scheduler" });
  const cadence = { minIntervalMs: config.pollMinIntervalMs, maxIntervalMs: config.pollMaxIntervalMs };
  // A claim must outlive the slowest upstream answer, or a second process could poll the same job meanwhile.
  const leaseMs = Math.max(config.leaseMs, config.upstreamTimeoutMs + 5_000);
  let lastAuthLogAt = 0;

  return createWorkerLoop<ClaimedPoll, PollAck>({
    name: "scheduler",
    concurrency: config.pollConcurrency,
    logger,
    claim: (limit) => claimDuePolls(db, { workerId: options.workerId, limit, now: clock.now(), leaseMs }),
    async process(poll, signal) {
      const apiKey = await deps.tenantKeys.keyFor(poll.tenantId);
      const result: JobFetchResult = apiKey
        ? await upstream.getJob(poll.jobId, { apiKey, signal })
        : { kind: "error", reason: "no_key", message: "the tenant has no Rendley API key" };
      if (signal.aborted) return releasePoll(poll, clock.now());
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
      const ack = decidePoll(poll, result, { now: clock.now(), cadence, random });
      if (ack.event) logger.info({ jobId: poll.jobId, event: ack.event.type }, "job changed");
      return ack;
    },
    onCrash: (poll) => releasePoll(poll, clock.now(), new Date(clock.now().getTime() + CRASH_RETRY_MS)),
    async ack(acks) {
      const summary = await recordPollResults(db, acks, { now: clock.now(), random });
      if (summary.fenced > 0) logger.warn({ fenced: summary.fenced }, "poll results dropped: a later claim owns them");
      if (summary.deliveriesCreated > 0) options.onDeliveriesCreated?.();
    },
  });
}
