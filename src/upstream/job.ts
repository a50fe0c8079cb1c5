import { z } from "zod";

export const JOB_STATUSES = ["queued", "processing", "completed", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(["completed", "failed", "canceled"]);

export function isTerminal(status: JobStatus | string | null | undefined): boolean {
  return status != null && TERMINAL_STATUSES.has(status as JobStatus);
}

/**
 * The documented job object (`GET /v1/jobs/{id}` → `{"data": job}`). Only what the relay relies on is
 * checked; every other field is kept verbatim and handed to receivers as received.
 */
export const upstreamJobSchema = z.looseObject({
  id: z.string(),
  status: z.enum(JOB_STATUSES),
  result_data: z.string().nullable().optional(),
  error: z.string().nullable().optional(),
});
export type UpstreamJob = z.infer<typeof upstreamJobSchema>;

export const jobEnvelopeSchema = z.object({ data: upstreamJobSchema });

/** `result_data` is a JSON-encoded string (reference page); parsed for receivers, null when absent or not JSON. */
export function parseResult(job: UpstreamJob): unknown {
  if (typeof job.result_data !== "string") return null;
  try {
    return JSON.parse(job.result_data);
  } catch {
    return null;
  }
}
