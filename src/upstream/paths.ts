import type { JobService } from "../domain/job.js";

/**
 * Where each Rendley service keeps its jobs, relative to its base URL (`RENDLEY_API_URL`, `RENDLEY_AGENT_URL`).
 * `{id}` is the job id and `{action}` the AI action, both URI-encoded. A path that changes upstream is one line here.
 */
export const SERVICE_PATHS = {
  api: {
    job: "/v1/jobs/{id}",
    /** `DELETE`: cancels a queued or processing job. */
    cancel: "/v1/jobs/{id}",
    /** The key owner's jobs, filtered by query (`source_type` defaults to `studio` upstream). */
    list: "/v1/jobs",
    export: "/v1/export",
    exportCost: "/v1/export/cost",
    ai: "/v1/ai/{action}",
    aiCost: "/v1/ai/{action}/cost",
  },
  agent: {
    job: "/v1/jobs/{id}",
    start: "/v1/agent",
  },
} as const satisfies Record<JobService, { job: string; [path: string]: string }>;

/** A path of the table with its `{…}` placeholders filled in (URI-encoded). */
export function fillPath(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? ""));
}
