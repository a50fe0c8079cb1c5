/** Rendley's job statuses, as its jobs-and-polling page lists them. */
export const JOB_STATUSES = ["queued", "processing", "completed", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** The statuses a job never leaves. */
export const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "canceled"];

export function isTerminal(status: JobStatus | string | null | undefined): boolean {
  return status != null && (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/**
 * Rendley's job object (`GET /v1/jobs/{id}` → `{"data": job}`): the fields the relay relies on, every other
 * field kept verbatim and handed to receivers as received. `src/upstream/job-schema.ts` checks an answer
 * against it.
 */
export interface UpstreamJob {
  id: string;
  status: JobStatus;
  result_data?: string | null | undefined;
  error?: string | null | undefined;
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
