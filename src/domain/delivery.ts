import { eventBodies, eventRank, type EventBodies, type EventOfJob, type EventType } from "./events.js";
import type { JobService, UpstreamJob } from "./job.js";
import type { AttemptTrigger } from "./watch.js";

/** What shapes a watch's deliveries: where they go, how they are retried, what they carry. */
export interface WatchTarget {
  id: string;
  tenantId: string;
  jobId: string;
  /** The Rendley service that owns the job (default `api`). */
  service?: JobService | undefined;
  /** The subscription that discovered the job, if any (its callbacks say so). */
  subscriptionId?: string | null | undefined;
  callbackUrl: string;
  metadata: Record<string, unknown> | null;
  /** The watch's own retry delays; null uses DELIVERY_RETRY_SCHEDULE. */
  retryScheduleMs: number[] | null;
  callbackHeaders: Record<string, string> | null;
}

/** One event of a job, about to become a message for each watch that wants it. */
export interface DeliveryEvent {
  type: EventType;
  observedAt: Date;
  /** The job as fetched (null for watch.expired of a job never seen). */
  job: UpstreamJob | null;
  /** When `job` was fetched from Rendley. */
  jobFetchedAt: Date | null;
  reason?: string | undefined;
}

/** An event message to store, due now: its body is final (it is signed as these exact bytes on every attempt). */
export interface NewDelivery {
  id: string;
  tenantId: string;
  watchId: string;
  event: EventType;
  rank: number;
  callbackUrl: string;
  /** scheme://host:port of the callback URL. */
  origin: string;
  body: string;
  jobFetchedAt: Date | null;
  retryScheduleMs: number[] | null;
  extraHeaders: Record<string, string> | null;
}

/**
 * The message of `event` for `watch`: the body built and serialised once, the watch's schedule and headers with it.
 * @param bodies the event's bodies (eventBodies), when several watches on the job share its serialised part
 */
export function newDelivery(
  id: string,
  watch: WatchTarget,
  event: DeliveryEvent,
  bodies: EventBodies = eventBodies(eventOfJob(watch, event)),
): NewDelivery {
  return {
    id,
    tenantId: watch.tenantId,
    watchId: watch.id,
    event: event.type,
    rank: eventRank(event.type),
    callbackUrl: watch.callbackUrl,
    origin: new URL(watch.callbackUrl).origin,
    body: bodies({ watchId: watch.id, subscriptionId: watch.subscriptionId, metadata: watch.metadata }),
    jobFetchedAt: event.jobFetchedAt,
    retryScheduleMs: watch.retryScheduleMs,
    extraHeaders: watch.callbackHeaders,
  };
}

/** What the body of `event` says of the job (the same for every watch on it). */
export function eventOfJob(watch: Pick<WatchTarget, "jobId" | "service">, event: DeliveryEvent): EventOfJob {
  return {
    type: event.type,
    observedAt: event.observedAt,
    jobId: watch.jobId,
    service: watch.service,
    job: event.job,
    ...(event.reason ? { reason: event.reason } : {}),
  };
}

/** A delivery leased to this process for one callback attempt. */
export interface ClaimedDelivery {
  id: string;
  tenantId: string;
  watchId: string;
  event: string;
  callbackUrl: string;
  /** scheme://host:port of the callback URL. */
  origin: string;
  body: string;
  /** When the job inside `body` was fetched (null: no job, e.g. watch.expired of an unknown job). */
  jobFetchedAt: Date | null;
  /** The watch's own schedule, or null for the configured one. */
  retryScheduleMs: number[] | null;
  extraHeaders: Record<string, string> | null;
  claimSeq: number;
  /** This attempt's number within the current series (1 = the immediate first attempt). */
  seriesAttempt: number;
  /** This attempt's number over the delivery's life (numbers the attempt log). */
  attempt: number;
  trigger: AttemptTrigger;
}

/** A message created already leased to the process that will send it: its first attempt, as a claim would hand it out. */
export function leasedDelivery(d: NewDelivery, claimSeq: number): ClaimedDelivery {
  return {
    id: d.id,
    tenantId: d.tenantId,
    watchId: d.watchId,
    event: d.event,
    callbackUrl: d.callbackUrl,
    origin: d.origin,
    body: d.body,
    jobFetchedAt: d.jobFetchedAt,
    retryScheduleMs: d.retryScheduleMs,
    extraHeaders: d.extraHeaders,
    claimSeq,
    seriesAttempt: 1,
    attempt: 1,
    trigger: "scheduled",
  };
}

/**
 * A delivery worker that takes messages created already leased to it: the write that records a job's event
 * leases the new messages to the process that saw the event, which sends them at once, with no claim. A message
 * it cannot take now is created unleased and due, for any process's claim.
 */
export interface DeliveryIntake {
  /** Written into the leased rows' `locked_by`. */
  readonly workerId: string;
  /** A claim's lease: a leased row is due again (for any process to claim) this long after it was created. */
  readonly leaseMs: number;
  /** Holds a sending slot for each of `deliveries` it can send now (free concurrency, origin caps, closed breakers). */
  reserve(deliveries: readonly NewDelivery[]): DeliveryReservation;
}

/** Slots a delivery worker holds for messages about to be created leased to it. */
export interface DeliveryReservation {
  /** The messages to create leased to the worker. */
  readonly ids: ReadonlySet<string>;
  /** Sends the messages that were created leased (their ids among `ids`) and frees every other slot. Called once: with none when the write failed. */
  settle(leased: readonly ClaimedDelivery[]): void;
}

/** An attempt as recorded in the log. */
export interface AttemptRecord {
  attempt: number;
  trigger: AttemptTrigger;
  at: Date;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
  location: string | null;
}

/** How one delivery attempt is written back (batched with others). */
export interface DeliveryOutcome {
  id: string;
  tenantId: string;
  claimSeq: number;
  /** delivered: acknowledged. retry: pending again at nextAttemptAt. failed: given up. release: the claim is handed back unused. */
  kind: "delivered" | "retry" | "failed" | "release";
  nextAttemptAt: Date | null;
  lastError: string | null;
  attempt: AttemptRecord | null;
  /** A body rebuilt around a freshly fetched job (same webhook-id), stored for later attempts. */
  refreshed?: { body: string; jobFetchedAt: Date };
}

/** A watch still `watching` a job whose poll produced an event. */
export interface WatchOnJob extends WatchTarget {
  pollId: string;
  /** The events it subscribed to. */
  events: string[];
}

/** A watch moving on because of its job's event. */
export interface WatchTransition {
  watchId: string;
  status: "delivering" | "delivered" | "expired";
  lastError: string | null;
}

/** What a batch of poll results makes of the watches on those jobs: messages to store, watches to move on. */
export interface FanOut {
  deliveries: NewDelivery[];
  transitions: WatchTransition[];
}
