import { z } from "zod";
import type { UpstreamJob } from "../domain/job.js";

/**
 * Checks an answer against the job object (`GET /v1/jobs/{id}` → `{"data": job}`). Only what the relay relies on
 * is checked; every other field is kept verbatim and handed to receivers as received. The status is any string
 * here: which spellings the relay knows is the domain's (`jobStatusOf`), and an unknown one is not garbage.
 */
export const upstreamJobSchema = z.looseObject({
  id: z.string(),
  status: z.string(),
  result_data: z.string().nullable().optional(),
  error: z
    .union([z.string(), z.looseObject({})])
    .nullable()
    .optional(),
}) satisfies z.ZodType<UpstreamJob>;

export const jobEnvelopeSchema = z.object({ data: upstreamJobSchema });
