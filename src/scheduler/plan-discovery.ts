/** A job in Rendley's list, as discovery sees it. */
export interface ListedJob {
  id: string;
  /** The job's status is terminal (known spelling); an unknown status counts as not terminal. */
  terminal: boolean;
}

/** What one listing means for one subscription. */
export interface DiscoveryPlan {
  /** New jobs that become watches of the subscription. */
  announce: string[];
  /** New jobs recorded as seen without a watch: terminal at the subscription's first listing. */
  baselined: string[];
}

/**
 * Pure: which listed jobs a subscription announces. Every job it has not seen is new. The first listing is a
 * baseline: jobs already terminal then are only recorded, unless the subscription asked for `include_existing`;
 * after it, a new job is announced whatever its status (one that finished between two listings gets its final
 * event once, from the ordinary poll).
 */
export function planDiscovery(
  jobs: readonly ListedJob[],
  subscription: { firstListing: boolean; includeExisting: boolean; seen: ReadonlySet<string> },
): DiscoveryPlan {
  const plan: DiscoveryPlan = { announce: [], baselined: [] };
  const taken = new Set<string>();
  for (const job of jobs) {
    if (subscription.seen.has(job.id) || taken.has(job.id)) continue;
    taken.add(job.id);
    if (subscription.firstListing && job.terminal && !subscription.includeExisting) plan.baselined.push(job.id);
    else plan.announce.push(job.id);
  }
  return plan;
}
