import { sql, type SQL } from "drizzle-orm";
import type { Database } from "../client.js";
import { toDate, ts } from "../sql-values.js";
import type { DashboardWatchRow } from "./dashboard-watch-list.js";
import type { WatchCursor } from "./list-watches.js";

/**
 * One page of the watches a subscription discovered, newest first, by keyset on (created_at, id): the rows of
 * the dashboard's watch list (`listDashboardWatches`), read along watches_subscription_created_idx. The tenant
 * is checked too, so a subscription id of another tenant lists nothing.
 */
export async function listSubscriptionWatches(
  db: Database,
  options: { tenantId: string; subscriptionId: string; limit: number; after?: WatchCursor | undefined },
): Promise<{ rows: DashboardWatchRow[]; next: WatchCursor | null }> {
  const filters: SQL[] = [sql`w.subscription_id = ${options.subscriptionId}`, sql`w.tenant_id = ${options.tenantId}`];
  if (options.after) filters.push(sql`(w.created_at, w.id) < (${ts(options.after.createdAt)}, ${options.after.id})`);
  const rows = await db.rows<{
    id: string;
    job_id: string;
    status: string;
    job_status: string | null;
    job_type: string | null;
    events: string[];
    last_error: string | null;
    created_at: Date | string;
    updated_at: Date | string;
  }>(sql`
    select w.id, w.job_id, w.status, p.job_status, p.job_type, w.events,
           case when w.status = 'watching' then coalesce(w.last_error, p.last_error) else w.last_error end as last_error,
           w.created_at, w.updated_at
    from watches w join polls p on p.id = w.poll_id
    where ${sql.join(filters, sql` and `)}
    -- "nulls last" as the index is built: plain "desc" would read and sort every watch of the subscription.
    order by w.created_at desc nulls last, w.id desc nulls last
    limit ${options.limit + 1}::int`);
  const page = rows.slice(0, options.limit).map((r) => ({
    id: r.id,
    jobId: r.job_id,
    status: r.status,
    jobStatus: r.job_status,
    jobType: r.job_type,
    events: r.events,
    lastError: r.last_error,
    createdAt: toDate(r.created_at)!,
    updatedAt: toDate(r.updated_at)!,
  }));
  const last = page.at(-1);
  return { rows: page, next: rows.length > options.limit && last ? { createdAt: last.createdAt, id: last.id } : null };
}

/** A subscription's watches counted by status (statuses without watches are absent). */
export async function countSubscriptionWatches(
  db: Database,
  options: { tenantId: string; subscriptionId: string },
): Promise<Record<string, number>> {
  const rows = await db.rows<{ status: string; n: number | string }>(
    sql`select status, count(*) as n from watches
        where subscription_id = ${options.subscriptionId} and tenant_id = ${options.tenantId}
        group by status`,
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
