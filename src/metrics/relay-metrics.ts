import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ClaimedDelivery, DeliveryOutcome } from "../domain/delivery.js";
import { isTerminalEvent } from "../domain/events.js";
import { WATCH_STATUSES } from "../domain/watch.js";
import type { BreakerState } from "../domain/breaker.js";
import type { SendResult } from "../domain/attempt.js";
import type { PollUpdate } from "../domain/poll.js";
import type { WorkerLoopObserver } from "../lib/worker-loop.js";
import type { JobFetchResult } from "../upstream/client.js";
import type { MetricsSnapshot } from "../db/queries/load-metrics-snapshot.js";
import { attemptOutcome, finalOutcome, pollOutcome } from "./outcomes.js";

export const METRIC_PREFIX = "rendley_relay_";

/** Seconds. Upstream and callback requests: 5 ms to the 15 s default deadline and beyond. */
const REQUEST_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];
/** Seconds. Terminal status seen → callback acknowledged: one quick attempt up to a day of retries. */
const NOTIFY_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21_600, 86_400];
/** Seconds. How late a poll was claimed after it fell due. */
const LAG_BUCKETS_S = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Seconds. One claim or one batch write: a fraction of a millisecond on an idle database to a struggling one. */
const STATEMENT_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Rows per claim or batch write (0: a claim that found nothing due). */
const BATCH_BUCKETS = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** A `{"type":"…","timestamp":"…"` prefix: every event body starts so (buildEventBody), no parse needed. */
const BODY_TIMESTAMP = /^\{"type":"[^"]*","timestamp":"([^"]+)"/;

export interface BreakerReading {
  origin: string;
  state: BreakerState;
}

export interface RelayMetricsOptions {
  /** Counts read from the database at scrape time (watches by status, due backlog); omitted: those gauges stay empty. */
  loadSnapshot?: () => Promise<MetricsSnapshot>;
  /** How long one snapshot serves scrapes (default 5000): scrapes cannot load the database. */
  snapshotCacheMs?: number;
  /** A snapshot slower than this is given up and the previous values are served (default 2000). */
  snapshotTimeoutMs?: number;
  /** Registers prom-client's process metrics (CPU, memory, event loop lag, GC; default true). */
  processMetrics?: boolean;
  /** Monotonic milliseconds (tests). */
  nowMs?: () => number;
}

/** Distinct statuses labelled by `upstream_unknown_statuses_total` (an upstream cannot grow the series unbounded). */
const MAX_STATUS_LABELS = 50;
/** The relay's Prometheus metrics, on a registry of its own (several relays can share a process). */
export interface RelayMetrics {
  readonly registry: Registry;
  /** A poll got its upstream answer and `decidePoll` judged it (`ack` undefined: nothing changed). */
  pollFinished(result: JobFetchResult, ack: PollUpdate | undefined): void;
  /** A job answered with a status the relay does not know (`value`: printable, ≤ 32 characters). */
  unknownStatus(value: string): void;
  /** One listing of a subscription filter ended: `ok`, `too_large`, `bad_response`, or the upstream problem. */
  subscriptionListed(outcome: string, discovered: number): void;
  /** A claim returned these polls: each one's lateness (now − the time it fell due). */
  pollsClaimed(polls: readonly { dueAt?: Date | undefined }[], now: Date): void;
  /** One upstream HTTP call ended (outcome: the result kind, or the error reason). */
  upstreamRequest(operation: string, outcome: string, durationMs: number): void;
  /** One callback attempt was decided (a released claim counts nothing). */
  deliveryAttempted(
    delivery: Pick<ClaimedDelivery, "event" | "trigger" | "body" | "attempt" | "seriesAttempt">,
    result: SendResult,
    ack: DeliveryOutcome,
    now: Date,
  ): void;
  /** The recorder of one worker loop's claims and batch writes (`loop`: scheduler or delivery). */
  loopObserver(loop: "scheduler" | "delivery"): WorkerLoopObserver;
  /** Where to read the circuit breakers from at scrape time (the delivery worker's in-memory gate). */
  observeBreakers(read: () => Iterable<BreakerReading>): void;
  /** The text exposition of every metric. */
  scrape(): Promise<string>;
  readonly contentType: string;
}

/**
 * Creates the relay's metrics (prefix `rendley_relay_`) on a fresh prom-client Registry. Recorders are plain
 * functions the scheduler and the delivery worker call; gauges that describe stored state are collected at
 * scrape time from one cached snapshot query.
 * @example
 * const metrics = createRelayMetrics({ loadSnapshot: () => loadMetricsSnapshot(db, new Date()) });
 * metrics.pollFinished(result, ack);
 * const text = await metrics.scrape();
 */
export function createRelayMetrics(options: RelayMetricsOptions = {}): RelayMetrics {
  const { snapshotCacheMs = 5_000, snapshotTimeoutMs = 2_000, nowMs = () => performance.now() } = options;
  const registry = new Registry();
  const registers = [registry];
  const name = (n: string) => `${METRIC_PREFIX}${n}`;

  const polls = new Counter({
    name: name("polls_total"),
    help: "Upstream polls of watched jobs, by outcome (unchanged, changed, unknown_status, not_found, rate_limited, unauthorized, error)",
    labelNames: ["outcome"] as const,
    registers,
  });
  const unknownStatuses = new Counter({
    name: name("upstream_unknown_statuses_total"),
    help: `Polls whose job had a status the relay does not know, by status (the first ${MAX_STATUS_LABELS}; then "other")`,
    labelNames: ["status"] as const,
    registers,
  });
  const statusLabels = new Set<string>(); // the statuses labelled so far
  const listings = new Counter({
    name: name("subscription_listings_total"),
    help: "Listings of Rendley's job list for subscriptions, by outcome (ok, too_large, bad_response, status, timeout, network, no_key)",
    labelNames: ["outcome"] as const,
    registers,
  });
  const discovered = new Counter({
    name: name("subscription_jobs_discovered_total"),
    help: "Jobs that subscriptions discovered in Rendley's job list and made watches of",
    registers,
  });
  const upstreamDuration = new Histogram({
    name: name("upstream_request_duration_seconds"),
    help: "Duration of Rendley API requests, by operation and outcome",
    labelNames: ["operation", "outcome"] as const,
    buckets: REQUEST_BUCKETS_S,
    registers,
  });
  const pollLag = new Histogram({
    name: name("poll_scheduling_lag_seconds"),
    help: "How late claimed polls were: claim time minus the time each fell due",
    buckets: LAG_BUCKETS_S,
    registers,
  });
  const attempts = new Counter({
    name: name("delivery_attempts_total"),
    help: "Callback attempts, by outcome (acknowledged, http_4xx, http_5xx, redirect, timeout, connection_refused, …)",
    labelNames: ["outcome"] as const,
    registers,
  });
  const attemptDuration = new Histogram({
    name: name("delivery_attempt_duration_seconds"),
    help: "Duration of callback attempts, by whether they were acknowledged",
    labelNames: ["acknowledged"] as const,
    buckets: REQUEST_BUCKETS_S,
    registers,
  });
  const deliveries = new Counter({
    name: name("deliveries_total"),
    help: "Deliveries that reached a final outcome (delivered, gone, blocked, exhausted)",
    labelNames: ["outcome"] as const,
    registers,
  });
  // The database side of the two loops: how long claims and batch writes take and how much each carries.
  // A claim that slows or a batch that shrinks shows the database, not the upstream, limiting the relay.
  const perLoop = (metric: string, help: string, buckets: number[]) =>
    new Histogram({ name: name(metric), help, labelNames: ["loop"] as const, buckets, registers });
  const claimDuration = perLoop(
    "claim_duration_seconds",
    "Duration of one claim (a leasing statement), by loop (scheduler, delivery)",
    STATEMENT_BUCKETS_S,
  );
  const claimBatch = perLoop("claim_batch_size", "Rows leased by one claim (0: nothing was due), by loop", BATCH_BUCKETS);
  const writeDuration = perLoop(
    "write_duration_seconds",
    "Duration of one batch write of results (poll outcomes with their new callbacks; callback outcomes), by loop",
    STATEMENT_BUCKETS_S,
  );
  const writeBatch = perLoop("write_batch_size", "Results written by one batch write, by loop", BATCH_BUCKETS);
  const notifyLatency = new Histogram({
    name: name("notify_latency_seconds"),
    help: "Terminal job status seen by a poll → callback acknowledged (first series of terminal events; redeliveries excluded)",
    buckets: NOTIFY_BUCKETS_S,
    registers,
  });

  // Stored state, read at scrape time from one snapshot shared by both gauges and cached.
  let cached: { at: number; value: Promise<MetricsSnapshot | undefined> } | undefined;
  let last: MetricsSnapshot | undefined;
  const snapshot = (): Promise<MetricsSnapshot | undefined> => {
    const load = options.loadSnapshot;
    if (!load) return Promise.resolve(undefined);
    if (cached && nowMs() - cached.at < snapshotCacheMs) return cached.value;
    let timer: NodeJS.Timeout | undefined;
    const value = Promise.race([
      load().then((s) => (last = s)),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("snapshot timed out")), snapshotTimeoutMs))),
    ])
      // A database that does not answer keeps the previous values (and is asked again only after the cache time).
      .catch(() => last)
      .finally(() => clearTimeout(timer));
    cached = { at: nowMs(), value };
    return value;
  };
  new Gauge({
    name: name("watches"),
    help: "Watches by status (all tenants; read from the database at most every 5 s)",
    labelNames: ["status"] as const,
    registers,
    async collect() {
      const s = await snapshot();
      if (!s) return;
      // Every status is reported, even with no watch in it: a series that vanishes breaks rate() and alerts.
      for (const status of new Set([...WATCH_STATUSES, ...Object.keys(s.watchesByStatus)])) {
        this.set({ status }, s.watchesByStatus[status] ?? 0);
      }
    },
  });
  new Gauge({
    name: name("polls_due"),
    help: "Active polls whose next poll time has passed (the scheduler's backlog)",
    registers,
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.duePolls);
    },
  });
  new Gauge({
    name: name("oldest_due_poll_age_seconds"),
    help: "How long the most overdue active poll has been due (0 with no backlog)",
    registers,
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.oldestDueAgeMs / 1000);
    },
  });

  let readBreakers: () => Iterable<BreakerReading> = () => [];
  new Gauge({
    name: name("circuit_breakers"),
    help: "Circuit breakers (one per tenant and receiver origin) known to this process, by state",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const counts: Record<BreakerState, number> = { closed: 0, open: 0, half_open: 0 };
      for (const b of readBreakers()) counts[b.state]++;
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: name("circuit_breaker_origins"),
    help: "Breakers not closed, by receiver origin and state (closed origins are left out to bound the series)",
    labelNames: ["origin", "state"] as const,
    registers,
    collect() {
      this.reset();
      for (const b of readBreakers()) if (b.state !== "closed") this.inc({ origin: b.origin, state: b.state });
    },
  });

  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  return {
    registry,
    contentType: registry.contentType,
    pollFinished(result, ack) {
      polls.inc({ outcome: pollOutcome(result, ack) });
    },
    unknownStatus(value) {
      if (statusLabels.size < MAX_STATUS_LABELS) statusLabels.add(value);
      unknownStatuses.inc({ status: statusLabels.has(value) ? value : "other" });
    },
    subscriptionListed(outcome, count) {
      listings.inc({ outcome });
      if (count > 0) discovered.inc(count);
    },
    pollsClaimed(claimed, now) {
      for (const p of claimed) if (p.dueAt) pollLag.observe(Math.max(0, now.getTime() - p.dueAt.getTime()) / 1000);
    },
    upstreamRequest(operation, outcome, durationMs) {
      upstreamDuration.observe({ operation, outcome }, durationMs / 1000);
    },
    deliveryAttempted(delivery, result, ack, now) {
      if (ack.kind === "release") return;
      attempts.inc({ outcome: attemptOutcome(result) });
      attemptDuration.observe({ acknowledged: String(result.ok) }, result.durationMs / 1000);
      const final = finalOutcome(ack);
      if (final) deliveries.inc({ outcome: final });
      // Only the first series measures the relay: a redelivery (and its retries) starts when someone asks.
      const firstSeries = delivery.trigger === "scheduled" && delivery.attempt === delivery.seriesAttempt;
      if (ack.kind !== "delivered" || !firstSeries || !isTerminalEvent(delivery.event)) return;
      const seenAt = Date.parse(BODY_TIMESTAMP.exec(delivery.body)?.[1] ?? "");
      if (Number.isFinite(seenAt)) notifyLatency.observe(Math.max(0, now.getTime() - seenAt) / 1000);
    },
    loopObserver(loop) {
      const labels = { loop };
      return {
        claimed(count, seconds) {
          claimDuration.observe(labels, seconds);
          claimBatch.observe(labels, count);
        },
        written(count, seconds) {
          writeDuration.observe(labels, seconds);
          writeBatch.observe(labels, count);
        },
      };
    },
    observeBreakers(read) {
      readBreakers = read;
    },
    scrape: () => registry.metrics(),
  };
}
