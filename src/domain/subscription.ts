/** Where a job was made: `studio` (the Rendley editor; the job list's default) or `api`. */
export const SOURCE_TYPES = ["api", "studio"] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** A subscription's filter: the query of Rendley's job list (`GET /v1/jobs?…`). */
export interface SubscriptionFilter {
  source_type: SourceType;
  project_id?: string | undefined;
  job_type?: string | undefined;
  source_id?: string | undefined;
}

/** The filter's fields in a fixed order: the job list's query and the listing's identity. */
export const FILTER_FIELDS = ["source_type", "project_id", "job_type", "source_id"] as const;

/** The job list's query for a filter (unset fields left out; `source_type` always sent, since it defaults to `studio`). */
export function listQuery(filter: SubscriptionFilter): Record<string, string> {
  const query: Record<string, string> = {};
  for (const field of FILTER_FIELDS) {
    const value = filter[field];
    if (value !== undefined) query[field] = value;
  }
  return query;
}

/** active: discovering; deleted: discovery stopped (its watches finish unless they were canceled with it). */
export const SUBSCRIPTION_STATUSES = ["active", "deleted"] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** The prefix of the idempotency key of a discovered watch (`sub:<subscription>:<job>`): made once, whatever replica or restart. */
export const DISCOVERY_KEY_PREFIX = "sub:";

export function discoveryKey(subscriptionId: string, jobId: string): string {
  return `${DISCOVERY_KEY_PREFIX}${subscriptionId}:${jobId}`;
}
