import { z } from "zod";
import { JOB_STATUSES, type UpstreamJob } from "../domain/job.js";

/**
 * Checks an answer against the documented job object (`GET /v1/jobs/{id}` → `{"data": job}`). Only what the
 * relay relies on is checked; every other field is kept verbatim and handed to receivers as received.
 */
export const upstreamJobSchema = z.looseObject({
  id: z.string(),
  status: z.enum(JOB_STATUSES),
  result_data: z.string().nullable().optional(),
  error: z.string().nullable().optional(),
}) satisfies z.ZodType<UpstreamJob>;

export const jobEnvelopeSchema = z.object({ data: upstreamJobSchema });
