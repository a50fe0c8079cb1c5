import { claimDueDeliveries, type ClaimedDelivery } from "../db/queries/claim-due-deliveries.js";
import { recordDeliveryResults } from "../db/queries/record-delivery-results.js";
import { activeSigningSecrets } from "../db/queries/signing-secrets.js";
import type { Deps } from "../deps.js";
import { CRASH_RETRY_MS, createWorkerLoop, type WorkerLoop } from "../lib/worker-loop.js";
import { USER_AGENT } from "../version.js";
import { decideDelivery, releaseDelivery, type DeliveryAck } from "./backoff.js";
import { sendCallback } from "./send.js";
import { signPayload } from "./sign.js";

/** Signing secrets are read from the database at most this often per tenant. */
const SECRET_CACHE_MS = 5_000;

/**
 * The sender: claims due deliveries, signs and POSTs each (at most DELIVERY_CONCURRENCY at once), and
 * writes outcomes and attempts back in batches.
 */
export function createDeliveryWorker(deps: Deps, options: { workerId: string }): WorkerLoop {
  const { config, db, clock } = deps;
  const logger = deps.logger.child({ component: "delivery" });
  // A claim must outlive the slowest callback, or a second process could send the same event meanwhile.
  const leaseMs = Math.max(config.leaseMs, config.deliveryTimeoutMs + 5_000);
  const secretCache = new Map<string, { secrets: string[]; at: number }>();

  async function secretsFor(tenantId: string): Promise<string[]> {
    const cached = secretCache.get(tenantId);
    const nowMs = clock.now().getTime();
    if (cached && nowMs - cached.at < SECRET_CACHE_MS) return cached.secrets;
    const secrets = await activeSigningSecrets(db, tenantId, clock.now());
    if (secrets.length === 0) throw new Error(`tenant ${tenantId} has no signing secret`);
    secretCache.set(tenantId, { secrets, at: nowMs });
    return secrets;
  }

  return createWorkerLoop<ClaimedDelivery, DeliveryAck>({
    name: "delivery",
    concurrency: config.deliveryConcurrency,
    logger,
    claim: (limit) => claimDueDeliveries(db, { workerId: options.workerId, limit, now: clock.now(), leaseMs }),
    async process(delivery, signal) {
      const secrets = await secretsFor(delivery.tenantId);
      const startedAt = clock.now();
      const timestampSec = Math.floor(startedAt.getTime() / 1000);
      const result = await sendCallback(
        {
          url: delivery.callbackUrl,
          body: delivery.body,
          headers: {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery.id,
            "webhook-timestamp": String(timestampSec),
            "webhook-signature": signPayload(secrets, delivery.id, timestampSec, delivery.body),
          },
        },
        { dispatcher: deps.callbackDispatcher, timeoutMs: config.deliveryTimeoutMs, signal, now: () => clock.now() },
      );
      const ack = decideDelivery(delivery, result, {
        now: clock.now(),
        scheduleMs: config.deliveryRetryScheduleMs,
        attemptStartedAt: startedAt,
      });
      const origin = new URL(delivery.callbackUrl).origin;
      if (ack.kind === "failed") {
        logger.warn({ deliveryId: delivery.id, watchId: delivery.watchId, origin, reason: ack.lastError }, "delivery failed");
      } else if (ack.kind === "retry") {
        logger.info(
          { deliveryId: delivery.id, origin, attempt: delivery.attempt, error: result.error, statusCode: result.statusCode },
          "delivery attempt failed; will retry",
        );
      }
      return ack;
    },
    onCrash: (delivery) => releaseDelivery(delivery, new Date(clock.now().getTime() + CRASH_RETRY_MS)),
    async ack(acks) {
      await recordDeliveryResults(db, acks, clock.now());
    },
  });
}
