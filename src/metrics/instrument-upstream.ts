import type { UpstreamClient } from "../upstream/client.js";
import type { RelayMetrics } from "./relay-metrics.js";

/**
 * The same client, timing each job read, cancel and list into `rendley_relay_upstream_request_duration_seconds`
 * (outcome: the result's kind, or its error reason). Other methods pass through untouched.
 */
export function instrumentUpstream(client: UpstreamClient, metrics: Pick<RelayMetrics, "upstreamRequest">): UpstreamClient {
  const outcomeOf = (r: { kind: string; reason?: string }) => (r.kind === "error" && r.reason ? r.reason : r.kind);
  return {
    ...client,
    async getJob(jobId, options) {
      const started = performance.now();
      const result = await client.getJob(jobId, options);
      metrics.upstreamRequest("get_job", outcomeOf(result), performance.now() - started);
      return result;
    },
    async cancelJob(jobId, options) {
      const started = performance.now();
      const result = await client.cancelJob(jobId, options);
      metrics.upstreamRequest("cancel_job", result.kind, performance.now() - started);
      return result;
    },
    async listJobs(query, options) {
      const started = performance.now();
      const result = await client.listJobs(query, options);
      metrics.upstreamRequest("list_jobs", outcomeOf(result), performance.now() - started);
      return result;
    },
  };
}
