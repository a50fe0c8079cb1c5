import { claimDueDeliveries } from "../db/queries/claim-due-deliveries.js";
import type { ClaimedDelivery, DeliveryIntake, DeliveryOutcome, DeliveryReservation, NewDelivery } from "../domain/delivery.js";
import { deferOriginDeliveries, saveOriginStates } from "../db/queries/origin-states.js";
import { recordDeliveryResults } from "../db/queries/record-delivery-results.js";
import { activeSigningSecrets } from "../db/queries/signing-secrets.js";
import type { Deps } from "../deps.js";
import { CRASH_RETRY_MS, createWorkerLoop, type WorkerLoop } from "../lib/worker-loop.js";
import { USER_AGENT } from "../version.js";
import { decideDelivery, releaseDelivery } from "./backoff.js";
import { isTerminalEvent, rebuildEventBody, type EventBody } from "../domain/events.js";
import { DEFAULT_JOB_SERVICE, jobStatusOf } from "../domain/job.js";
import { createOriginGate } from "./origin-gate.js";
import { type AttemptHealth } from "../domain/breaker.js";
import { sendCallback } from "./send.js";
import { type SendResult } from "../domain/attempt.js";
import { signPayload } from "./sign.js";

/** Signing secrets are read from the database at most this often per tenant (rotation in this process invalidates at once). */
const SECRET_CACHE_MS = 5_000;
/** A refused or reset connection this quick gets one immediate retry that is not counted as an attempt. */
const QUICK_FAILURE_MS = 1_000;

/** The sender, which also takes the messages created already leased to it (DeliveryIntake: no claim for those). */
export interface DeliveryWorker extends WorkerLoop, DeliveryIntake {
  /** Forgets cached signing secrets (after a rotation) so the next callback signs with the new set. */
  invalidateSecrets(tenantId?: string): void;
}

/** What the delivery worker uses. */
export type DeliveryWorkerDeps = Pick<
  Deps,
  | "config"
  | "db"
  | "clock"
  | "clockDrivesDatabase"
  | "random"
  | "logger"
  | "upstream"
  | "tenantKeys"
  | "metrics"
  | "callbackDispatcher"
>;

/**
 * The sender: claims due deliveries, signs and POSTs each (at most DELIVERY_CONCURRENCY at once and
 * DELIVERY_PER_ORIGIN_CONCURRENCY per receiver origin, behind a circuit breaker per origin), and writes
 * outcomes and attempts back in batches.
 *
 * The messages of the events this process's scheduler sees skip the claim: `reserve` holds a slot for each one it
 * can send now (a free slot of the loop, room under its origin's cap, no breaker holding the origin back), the
 * scheduler's write creates those leased to this worker, and `settle` runs them as if claimed. The others are
 * created due and go through the claim, here or in another process; so do leased ones whose process died.
 */
export function createDeliveryWorker(deps: DeliveryWorkerDeps, options: { workerId: string }): DeliveryWorker {
  const { config, db, clock, random, upstream } = deps;
  const logger = deps.logger.child({ component: "delivery" });
  // A claim must outlive the slowest attempt (a result refresh, a quick retry and the callback itself),
  // or a second process could send the same event meanwhile.
  const leaseMs = Math.max(config.leaseMs, config.upstreamTimeoutMs + config.deliveryTimeoutMs + QUICK_FAILURE_MS + 5_000);
  const secretCache = new Map<string, { secrets: string[]; at: number }>();
  const gate = createOriginGate({
    perOriginConcurrency: config.deliveryPerOriginConcurrency,
    threshold: config.breakerThreshold,
    cooldownMs: config.breakerCooldownMs,
  });
  deps.metrics.observeBreakers(() => gate.states());
  /** Per origin: slots held for messages being created leased to this worker, not yet admitted by the gate. */
  const reservedAt = new Map<string, number>();
  const roomAt = (origin: string) => gate.room(origin) - (reservedAt.get(origin) ?? 0);
  const hold = (origin: string, n: number) => {
    const held = (reservedAt.get(origin) ?? 0) + n;
    if (held > 0) reservedAt.set(origin, held);
    else reservedAt.delete(origin);
  };
  /** Origins this process will not call now: at their cap, counting the slots held for them. */
  const fullOrigins = () => [...new Set([...gate.fullOrigins(), ...[...reservedAt.keys()].filter((o) => roomAt(o) <= 0)])];

  async function secretsFor(tenantId: string): Promise<string[]> {
    const cached = secretCache.get(tenantId);
    const nowMs = clock.now().getTime();
    if (cached && nowMs - cached.at < SECRET_CACHE_MS) return cached.secrets;
    const secrets = await activeSigningSecrets(db, tenantId, clock.now());
    if (secrets.length === 0) throw new Error(`tenant ${tenantId} has no signing secret`);
    secretCache.set(tenantId, { secrets, at: nowMs });
    return secrets;
  }

  /**
   * Rendley's result links are time-limited: a final event whose job was fetched more than
   * RESULT_REFRESH_AFTER_MS ago, or any redelivery, is rebuilt around a freshly fetched job (same webhook-id).
   * When the fetch fails the stored body goes as it is.
   */
  async function currentBody(
    d: ClaimedDelivery,
    signal: AbortSignal,
  ): Promise<{ body: string; refreshed?: DeliveryOutcome["refreshed"] }> {
    if (!isTerminalEvent(d.event) || !d.jobFetchedAt) return { body: d.body };
    const ageMs = clock.now().getTime() - d.jobFetchedAt.getTime();
    if (d.trigger !== "manual" && ageMs <= config.resultRefreshAfterMs) return { body: d.body };
    const { data } = JSON.parse(d.body) as EventBody;
    const apiKey = await deps.tenantKeys.keyFor(d.tenantId);
    if (!apiKey) return { body: d.body };
    const service = data.service ?? DEFAULT_JOB_SERVICE;
    const fetched = await upstream.getJob(data.job_id, { apiKey, service, signal });
    // Only the same outcome is refreshed (its links, e.g. result_data.storage_url or output.url); an agent job
    // Rendley no longer keeps (404) is sent as stored.
    if (fetched.kind !== "ok" || jobStatusOf(service, fetched.job.status) !== data.status) return { body: d.body };
    const body = rebuildEventBody(d.body, fetched.job);
    return body ? { body, refreshed: { body, jobFetchedAt: clock.now() } } : { body: d.body };
  }

  async function post(d: ClaimedDelivery, body: string, signal: AbortSignal): Promise<{ result: SendResult; startedAt: Date }> {
    const secrets = await secretsFor(d.tenantId);
    const startedAt = clock.now();
    // RELAY_REQUIRE_HTTPS also holds for watches registered before it was set.
    if (config.requireHttps && d.callbackUrl.startsWith("http:")) {
      return { result: { ok: false, statusCode: null, durationMs: 0, error: "blocked" }, startedAt };
    }
    const timestampSec = Math.floor(startedAt.getTime() / 1000);
    const result = await sendCallback(
      {
        url: d.callbackUrl,
        body,
        headers: {
          ...d.extraHeaders, // validated at registration: they cannot override the headers below
          "content-type": "application/json",
          "user-agent": USER_AGENT,
          "webhook-id": d.id,
          "webhook-timestamp": String(timestampSec),
          "webhook-signature": signPayload(secrets, d.id, timestampSec, body),
        },
      },
      { dispatcher: deps.callbackDispatcher, timeoutMs: config.deliveryTimeoutMs, signal, now: () => clock.now() },
    );
    return { result, startedAt };
  }

  const loop = createWorkerLoop<ClaimedDelivery, DeliveryOutcome>({
    name: "delivery",
    concurrency: config.deliveryConcurrency,
    logger,
    observe: deps.metrics.loopObserver("delivery"),
    claim: (limit, { backlog }) =>
      claimDueDeliveries(db, {
        workerId: options.workerId,
        limit,
        backlog,
        now: deps.clockDrivesDatabase ? clock.now() : undefined, // leases run on the database's clock
        leaseMs,
        skipOrigins: fullOrigins(),
        skipTenantOrigins: gate.pausedPairs(clock.now()),
      }),
    async process(d, signal) {
      const admission = gate.admit(d.tenantId, d.origin, clock.now());
      if (!admission.run) return releaseDelivery(d, admission.retryAt ?? clock.now());
      let health: AttemptHealth = "neutral";
      try {
        const { body, refreshed } = await currentBody(d, signal);
        let { result, startedAt } = await post(d, body, signal);
        const quickFailure = result.error === "connection_refused" || result.error === "connection_reset";
        if (quickFailure && result.durationMs < QUICK_FAILURE_MS && !signal.aborted) {
          ({ result, startedAt } = await post(d, body, signal)); // one free retry: a restarting receiver, a stale keep-alive socket
        }
        const ack = decideDelivery(d, result, {
          now: clock.now(),
          scheduleMs: config.deliveryRetryScheduleMs,
          attemptStartedAt: startedAt,
          random,
        });
        if (refreshed && ack.kind !== "release") ack.refreshed = refreshed;
        deps.metrics.deliveryAttempted(d, result, ack, clock.now());
        health = result.aborted || result.error === "blocked" ? "neutral" : result.ok ? "success" : "failure";
        if (ack.kind === "failed") {
          logger.warn({ deliveryId: d.id, watchId: d.watchId, origin: d.origin, reason: ack.lastError }, "delivery failed");
        } else if (ack.kind === "retry") {
          logger.info(
            { deliveryId: d.id, origin: d.origin, attempt: d.attempt, error: result.error, statusCode: result.statusCode },
            "delivery attempt failed; will retry",
          );
        }
        return ack;
      } finally {
        gate.finish(d.tenantId, d.origin, health, clock.now(), admission.probe === true);
      }
    },
    onCrash: (d) => releaseDelivery(d, new Date(clock.now().getTime() + CRASH_RETRY_MS)),
    release: (d) => releaseDelivery(d, clock.now()),
    async ack(acks) {
      await recordDeliveryResults(db, acks, clock.now(), { databaseClock: !deps.clockDrivesDatabase });
      const { changed, opened } = gate.takeChanges();
      if (opened.length > 0) {
        const deferred = await deferOriginDeliveries(db, opened);
        for (const o of opened) {
          logger.warn(
            { origin: o.origin, until: o.openUntil, deferred },
            "circuit breaker opened: deliveries to this origin paused",
          );
        }
      }
      await saveOriginStates(db, changed, clock.now());
    },
  });

  function reserve(deliveries: readonly NewDelivery[]): DeliveryReservation {
    const slots = loop.reserve(deliveries.length); // 0 when the loop is not running (no delivery role, stopping)
    const origins = new Map<string, string>(); // id → origin, of the ones held
    const paused = slots > 0 ? new Set(gate.pausedPairs(clock.now())) : undefined;
    for (const d of deliveries) {
      if (origins.size === slots) break;
      if (paused?.has(`${d.tenantId} ${d.origin}`) || roomAt(d.origin) <= 0) continue;
      origins.set(d.id, d.origin);
      hold(d.origin, 1);
    }
    if (origins.size < slots) loop.adopt([], slots - origins.size);
    let settled = false;
    return {
      ids: new Set(origins.keys()),
      settle(leased) {
        if (settled) return;
        settled = true;
        for (const origin of origins.values()) hold(origin, -1);
        loop.adopt(leased, origins.size);
      },
    };
  }

  return {
    ...loop,
    workerId: options.workerId,
    leaseMs,
    reserve,
    get contiguousErrors() {
      return loop.contiguousErrors;
    },
    invalidateSecrets(tenantId) {
      if (tenantId) secretCache.delete(tenantId);
      else secretCache.clear();
    },
  };
}
