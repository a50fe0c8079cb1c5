import { jobErrorMessage, jobStatusOf, parseResult, type JobService, type JobStatus, type UpstreamJob } from "./job.js";

/** Events a watch can subscribe to. */
export const JOB_EVENTS = ["job.processing", "job.completed", "job.failed", "job.canceled"] as const;
export type JobEvent = (typeof JOB_EVENTS)[number];
/** Every event the relay sends; `watch.expired` is always sent, whatever the subscription. */
export const EVENT_TYPES = [...JOB_EVENTS, "watch.expired"] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** Default subscription: the three terminal outcomes. */
export const DEFAULT_EVENTS: readonly JobEvent[] = ["job.completed", "job.failed", "job.canceled"];
/** The events that end a job: sending one settles its watch. */
export const TERMINAL_EVENTS: readonly EventType[] = ["job.completed", "job.failed", "job.canceled"];

export function isTerminalEvent(type: string): boolean {
  return (TERMINAL_EVENTS as readonly string[]).includes(type);
}

/** A watch's events are delivered in rank order: processing (0) before the final event (1). */
export function eventRank(type: EventType): number {
  return type === "job.processing" ? 0 : 1;
}

/** The event a job status produces, if any (`queued` produces none). */
export function eventForStatus(status: JobStatus): JobEvent | undefined {
  return status === "queued" ? undefined : (`job.${status}` as JobEvent);
}

/** The callback body (one JSON document, serialised once and signed as these exact bytes). */
export interface EventBody {
  type: EventType;
  timestamp: string;
  data: {
    watch_id: string;
    job_id: string;
    /** The Rendley service that owns the job. */
    service: JobService;
    /** The subscription that discovered the job (its watch is the subscription's), else absent. */
    subscription_id?: string;
    /** The job's status in the relay's spelling (`cancelled` → `canceled`, agent `running` → `processing`). */
    status: string | null;
    job: UpstreamJob | null;
    result: unknown;
    error: string | null;
    metadata: Record<string, unknown> | null;
    reason?: string;
    /** Set when `job.input_data` was dropped to keep the body under MAX_EVENT_BODY_BYTES. */
    truncated?: true;
  };
}

/** Callback bodies stay under this size (receivers and proxies commonly cap request bodies). */
export const MAX_EVENT_BODY_BYTES = 256 * 1024;

/** What an event's body says of the job: the same for every watch on it. */
export interface EventOfJob {
  type: EventType;
  observedAt: Date;
  jobId: string;
  /** Default `api`. */
  service?: JobService | undefined;
  job: UpstreamJob | null;
  reason?: string;
}

/** What an event's body says of the watch it goes to. */
export interface EventOfWatch {
  watchId: string;
  subscriptionId?: string | null | undefined;
  metadata: Record<string, unknown> | null;
}

/** The bodies of one event of a job: one per watch, `(watch) => body`. */
export type EventBodies = (watch: EventOfWatch) => string;

/** `,"key":<value>` as JSON.stringify writes a member; nothing for `undefined`, which it leaves out. */
function member(key: string, value: unknown, first = false): string {
  const text = JSON.stringify(value) as string | undefined;
  return text === undefined ? "" : `${first ? "" : ","}"${key}":${text}`;
}

/**
 * The callback bodies of one event of a job, for every watch on it. `job` is the upstream object verbatim
 * (input_data/result_data stay JSON strings, the status as Rendley spelt it); `status` is the relay's spelling of
 * it, `error` its message (Rendley sends a string or an object), `result` is result_data parsed for convenience. A
 * body that would exceed MAX_EVENT_BODY_BYTES loses `job.input_data` (the request that started the job, which the
 * app already has) and says so with `data.truncated: true`.
 *
 * The job's part (its object, result and error: nearly all the bytes) is serialised once; each watch's body is
 * that text with the watch's fields (`watch_id`, `subscription_id`, `metadata`) put in their places: byte for
 * byte what JSON.stringify makes of the whole EventBody.
 */
export function eventBodies(event: EventOfJob): EventBodies {
  const { job } = event;
  const service = event.service ?? "api";
  const jobPart = (j: UpstreamJob | null): string =>
    member("status", j ? (jobStatusOf(service, j.status) ?? j.status) : null) +
    member("job", j) +
    member("result", j ? parseResult(j) : null) +
    member("error", jobErrorMessage(j));
  const head = `{${member("type", event.type, true)}${member("timestamp", event.observedAt.toISOString())},"data":{"watch_id":`;
  const middle = `${member("job_id", event.jobId)}${member("service", service)}`;
  const full = jobPart(job);
  const tail = `${event.reason ? member("reason", event.reason) : ""}}}`;
  const fixedBytes = Buffer.byteLength(head + middle + full + tail);
  let truncated: string | undefined;
  return (watch) => {
    const watchId = JSON.stringify(watch.watchId);
    const subscription = watch.subscriptionId ? member("subscription_id", watch.subscriptionId) : "";
    const metadata = member("metadata", watch.metadata);
    const ownBytes = Buffer.byteLength(watchId + subscription + metadata);
    if (fixedBytes + ownBytes <= MAX_EVENT_BODY_BYTES || !job || job.input_data == null) {
      return head + watchId + middle + subscription + full + metadata + tail;
    }
    truncated ??= jobPart({ ...job, input_data: null });
    return `${head}${watchId}${middle}${subscription}${truncated}${metadata}${tail.slice(0, -2)},"truncated":true}}`;
  };
}

/** The callback body for one watch (one JSON document, serialised once and signed as these exact bytes): see eventBodies. */
export function buildEventBody(input: EventOfJob & EventOfWatch): string {
  return eventBodies(input)(input);
}

/**
 * The same event with a freshly fetched job (same type, watch, metadata and observation time): late
 * attempts carry result links that still work. Returns undefined when `body` is not an event body.
 */
export function rebuildEventBody(body: string, job: UpstreamJob): string | undefined {
  let event: EventBody;
  try {
    event = JSON.parse(body) as EventBody;
  } catch {
    return undefined;
  }
  if (!event?.data?.watch_id || !event.data.job_id || Number.isNaN(Date.parse(event.timestamp))) return undefined;
  return buildEventBody({
    type: event.type,
    observedAt: new Date(event.timestamp),
    watchId: event.data.watch_id,
    jobId: event.data.job_id,
    service: event.data.service ?? "api",
    subscriptionId: event.data.subscription_id,
    job,
    metadata: event.data.metadata,
    ...(event.data.reason ? { reason: event.data.reason } : {}),
  });
}
