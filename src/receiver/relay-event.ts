import type { EventType, RendleyJob } from "../client/types.js";

export type { EventType as RelayEventType } from "../client/types.js";

/**
 * The body of every callback the relay sends (the `webhooks` entry of the OpenAPI document).
 * `job` is Rendley's job object verbatim (`input_data`/`result_data` stay JSON strings); `result` is
 * `result_data` parsed, or null.
 */
export interface RelayEvent<T extends EventType = EventType> {
  type: T;
  /** When the relay observed the change (ISO 8601); the same on every attempt of one event. */
  timestamp: string;
  data: {
    watch_id: string;
    job_id: string;
    /** The Rendley service that owns the job: `api` or `agent`. */
    service: "api" | "agent";
    /** The subscription that discovered the job; absent for watches an app registered. */
    subscription_id?: string;
    /** The job's status, or null when the job is unknown (`watch.expired`). */
    status: RendleyJob["status"] | null;
    job: RendleyJob | null;
    result: unknown;
    error: string | null;
    /** The watch's metadata, echoed. */
    metadata: Record<string, unknown> | null;
    /** Why a watch ended without a job event: `job_not_found` on `watch.expired`. */
    reason?: string;
    /** Set when `job.input_data` was dropped to keep the body under 256 KiB. */
    truncated?: true;
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The envelope's load-bearing fields; the rest is passed through as the relay sent it. */
export function isRelayEvent(value: unknown): value is RelayEvent {
  if (!isObject(value) || typeof value.type !== "string" || typeof value.timestamp !== "string") return false;
  const data = value.data;
  return (
    isObject(data) &&
    typeof data.watch_id === "string" &&
    typeof data.job_id === "string" &&
    (data.job === null || isObject(data.job)) &&
    (data.metadata === null || isObject(data.metadata))
  );
}
