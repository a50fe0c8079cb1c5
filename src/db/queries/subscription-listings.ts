import { sql } from "drizzle-orm";
import type { SubscriptionFilter } from "../../domain/subscription.js";
import type { Database } from "../client.js";
import { toDate, toJson, ts } from "../sql-values.js";
import type { SubscriptionRecord } from "./subscriptions.js";

/** A filter's listing, leased to this process for one `GET /v1/jobs`. */
export interface ClaimedListing {
  tenantId: string;
  filterKey: string;
  filter: SubscriptionFilter;
  /** The digest of the last list's job ids (null before the first). */
  idsDigest: string | null;
}

/** An active subscription of a listing, as discovery needs it. */
export type ListingSubscription = Pick<
  SubscriptionRecord,
  | "id"
  | "tenantId"
  | "callbackUrl"
  | "events"
  | "metadata"
  | "retryScheduleMs"
  | "callbackHeaders"
  | "includeExisting"
  | "baselineAt"
>;

/**
 * Claims due listings of filters that still have an active subscription. The claim itself moves each one's next
 * listing a whole interval on, so however many relays claim, a filter is listed at most once per interval; the
 * lease (`locked_until`) keeps a slow listing from overlapping the next.
 */
export async function claimDueListings(
  db: Database,
  options: { workerId: string; now: Date; intervalMs: number; leaseMs: number; limit: number },
): Promise<ClaimedListing[]> {
  const now = ts(options.now);
  const rows = await db.rows<{ tenant_id: string; filter_key: string; filter: unknown; ids_digest: string | null }>(sql`
    with due as (
      select tenant_id, filter_key from subscription_listings
      where next_list_at <= ${now} and (locked_until is null or locked_until <= ${now})
      order by next_list_at
      limit ${options.limit}::int
      for update skip locked
    )
    update subscription_listings l
    set next_list_at = ${now} + ${options.intervalMs}::int * interval '1 millisecond',
        locked_by = ${options.workerId},
        locked_until = ${now} + ${options.leaseMs}::int * interval '1 millisecond',
        updated_at = ${now}
    from due
    where l.tenant_id = due.tenant_id and l.filter_key = due.filter_key
    returning l.tenant_id, l.filter_key, l.filter, l.ids_digest`);
  return rows.map((r) => ({
    tenantId: r.tenant_id,
    filterKey: r.filter_key,
    filter: toJson<SubscriptionFilter>(r.filter)!,
    idsDigest: r.ids_digest,
  }));
}

/** Hands a claimed listing back unread, due at `dueAt` (the upstream budget had no room for it). */
export async function releaseListing(db: Database, listing: ClaimedListing, options: { workerId: string; dueAt: Date }) {
  await db.rows(sql`
    update subscription_listings set next_list_at = ${ts(options.dueAt)}, locked_by = null, locked_until = null
    where tenant_id = ${listing.tenantId} and filter_key = ${listing.filterKey} and locked_by = ${options.workerId}`);
}

/** Ends a listing: read whole (`jobCount`, `idsDigest`, no error) or not (`error`; the last good figures stay). */
export async function finishListing(
  db: Database,
  listing: ClaimedListing,
  outcome: { workerId: string; now: Date } & ({ jobCount: number; idsDigest: string } | { error: string }),
): Promise<void> {
  const now = ts(outcome.now);
  const read = "error" in outcome ? undefined : outcome;
  await db.rows(sql`
    update subscription_listings
    set locked_by = null, locked_until = null, updated_at = ${now},
        last_error = ${read ? null : (outcome as { error: string }).error},
        last_listed_at = ${read ? now : sql`last_listed_at`},
        last_job_count = ${read ? sql`${read.jobCount}::int` : sql`last_job_count`},
        ids_digest = ${read ? read.idsDigest : sql`ids_digest`}
    where tenant_id = ${listing.tenantId} and filter_key = ${listing.filterKey} and locked_by = ${outcome.workerId}`);
}

/** The active subscriptions a listing discovers for. */
export async function loadListingSubscriptions(db: Database, listing: ClaimedListing): Promise<ListingSubscription[]> {
  const rows = await db.rows<{
    id: string;
    callback_url: string;
    events: string[];
    metadata: unknown;
    retry_schedule_ms: number[] | null;
    callback_headers: unknown;
    include_existing: boolean;
    baseline_at: Date | string | null;
  }>(sql`
    select id, callback_url, events, metadata, retry_schedule_ms, callback_headers, include_existing, baseline_at
    from subscriptions
    where tenant_id = ${listing.tenantId} and filter_key = ${listing.filterKey} and status = 'active'
    order by created_at, id`);
  return rows.map((r) => ({
    id: r.id,
    tenantId: listing.tenantId,
    callbackUrl: r.callback_url,
    events: r.events,
    metadata: toJson<Record<string, unknown>>(r.metadata),
    retryScheduleMs: r.retry_schedule_ms,
    callbackHeaders: toJson<Record<string, string>>(r.callback_headers),
    includeExisting: r.include_existing,
    baselineAt: toDate(r.baseline_at),
  }));
}

/**
 * Which of `jobIds` each subscription has seen already: one statement for every subscription of a listing,
 * whatever the list's length.
 */
export async function seenJobIds(
  db: Database,
  subscriptionIds: readonly string[],
  jobIds: readonly string[],
): Promise<Map<string, Set<string>>> {
  const seen = new Map(subscriptionIds.map((id) => [id, new Set<string>()]));
  if (jobIds.length === 0 || subscriptionIds.length === 0) return seen;
  const rows = await db.rows<{ subscription_id: string; job_id: string }>(sql`
    select subscription_id, job_id from subscription_jobs
    where subscription_id in (select jsonb_array_elements_text(${JSON.stringify(subscriptionIds)}::jsonb))
      and job_id in (select jsonb_array_elements_text(${JSON.stringify(jobIds)}::jsonb))`);
  for (const r of rows) seen.get(r.subscription_id)?.add(r.job_id);
  return seen;
}

/**
 * Records jobs as seen by a subscription (with the watch made for each, or null for a baselined one), counts the
 * watches, and marks its baseline taken: all in one statement.
 */
export async function markJobsSeen(
  db: Database,
  subscriptionId: string,
  seen: readonly { jobId: string; watchId: string | null }[],
  now: Date,
): Promise<void> {
  const at = ts(now);
  const rows = JSON.stringify(seen.map((s) => ({ job_id: s.jobId, watch_id: s.watchId })));
  await db.rows(sql`
    with ins as (
      insert into subscription_jobs (subscription_id, job_id, watch_id, seen_at)
      select ${subscriptionId}, r.job_id, r.watch_id, ${at} from jsonb_to_recordset(${rows}::jsonb) as r(job_id text, watch_id text)
      on conflict (subscription_id, job_id) do nothing
      returning watch_id
    )
    update subscriptions
    set baseline_at = coalesce(baseline_at, ${at}),
        discovered_count = discovered_count + (select count(watch_id) from ins)::int,
        updated_at = ${at}
    where id = ${subscriptionId}`);
}
