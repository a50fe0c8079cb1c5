/** The relay's job statuses: Rendley's jobs-and-polling page spells them so; other spellings map onto them. */
export const JOB_STATUSES = ["queued", "processing", "completed", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** The statuses a job never leaves. */
export const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "canceled"];

export function isTerminal(status: JobStatus | string | null | undefined): boolean {
  return status != null && (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/**
 * The Rendley services that own jobs: `api` (renders, AI tools: api.rendley.com) and `agent` (the AI agent:
 * mcp.rendley.com). A job id is only meaningful together with its service.
 */
export const JOB_SERVICES = ["api", "agent"] as const;
export type JobService = (typeof JOB_SERVICES)[number];
export const DEFAULT_JOB_SERVICE: JobService = "api";

/**
 * How each service spells its statuses (the reference page, the API reference and Rendley's own clients),
 * mapped onto the relay's. A status outside its service's table is unknown: the job keeps being watched.
 */
export const STATUS_SPELLINGS: Readonly<Record<JobService, Readonly<Record<string, JobStatus>>>> = {
  api: {
    queued: "queued",
    processing: "processing",
    completed: "completed",
    failed: "failed",
    canceled: "canceled",
    cancelled: "canceled",
  },
  agent: {
    pending: "queued",
    queued: "queued",
    running: "processing",
    waiting_input: "processing",
    processing: "processing",
    completed: "completed",
    failed: "failed",
    cancelled: "canceled",
    canceled: "canceled",
  },
};

/** The relay's status for a status as `service` spelt it, or undefined when the relay does not know it. */
export function jobStatusOf(service: JobService, status: unknown): JobStatus | undefined {
  if (typeof status !== "string") return undefined;
  const spellings = STATUS_SPELLINGS[service];
  return Object.hasOwn(spellings, status) ? spellings[status] : undefined;
}

/** An unknown status as logs and `last_error` show it: printable ASCII only, at most 32 characters. */
export function printableStatus(status: unknown): string {
  const text = typeof status === "string" ? status : JSON.stringify(status ?? null);
  return text.replace(/[^\x21-\x7e]/g, "").slice(0, 32) || "?";
}

/** Job ids the relay stores and polls: 1–128 letters, digits and `_ . : -` (Rendley's `job_…`, agent UUIDs). */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

export function isUsableJobId(id: unknown): id is string {
  return typeof id === "string" && JOB_ID_PATTERN.test(id);
}

/** Rendley's `error`: a string (the reference page) or an object with a message (Rendley's clients). */
export type JobError = string | { message?: unknown; code?: unknown; [field: string]: unknown };

/**
 * Rendley's job object (`GET /v1/jobs/{id}` → `{"data": job}`): the fields the relay relies on, every other
 * field kept verbatim and handed to receivers as received. `status` is as Rendley spelt it (see
 * `jobStatusOf`). `src/upstream/job-schema.ts` checks an answer against it.
 */
export interface UpstreamJob {
  id: string;
  status: string;
  result_data?: string | null | undefined;
  error?: JobError | null | undefined;
  [field: string]: unknown;
}

/** `result_data` is a JSON-encoded string (reference page); parsed for receivers, null when absent or not JSON. */
export function parseResult(job: UpstreamJob): unknown {
  if (typeof job.result_data !== "string") return null;
  try {
    return JSON.parse(job.result_data);
  } catch {
    return null;
  }
}

/** The job's error as one message: the string itself, or the object's `message` (else its `code`); null when none. */
export function jobErrorMessage(job: UpstreamJob | null | undefined): string | null {
  const error = job?.error;
  if (error == null) return null;
  if (typeof error === "string") return error;
  const text = typeof error.message === "string" ? error.message : typeof error.code === "string" ? error.code : undefined;
  return text ?? JSON.stringify(error);
}
