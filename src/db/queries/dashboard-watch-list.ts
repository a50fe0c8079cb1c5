import { sql, type SQL } from "drizzle-orm";
import type { Database } from "../client.js";
import { toDate, ts } from "../sql-values.js";
import type { WatchCursor } from "./list-watches.js";

/** One row of the dashboard's watch list: what the table shows, without deliveries or attempts. */
export interface DashboardWatchRow {
  id: string;
  jobId: string;
  status: string;
  jobStatus: string | null;
  jobType: string | null;
  events: string[];
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * One page of a tenant's watches, newest first, by keyset on (created_at, id) as `listWatchIds` does:
 * no OFFSET and no count, so a deep page costs what the first one does. Filters: status, a subscribed
 * event, a prefix of the job id or the watch id, and the subscription that made the watch (read along
 * watches_subscription_created_idx).
 */
export async function listDashboardWatches(
  db: Database,
  options: {
    tenantId: string;
    status?: string | undefined;
    event?: string | undefined;
    prefix?: string | undefined;
    subscriptionId?: string | undefined;
    limit: number;
    after?: WatchCursor | undefined;
  },
): Promise<{ rows: DashboardWatchRow[]; next: WatchCursor | null }> {
  const filters: SQL[] = [sql`w.tenant_id = ${options.tenantId}`];
  if (options.status) filters.push(sql`w.status = ${options.status}`);
  if (options.event) filters.push(sql`${options.event} = any(w.events)`);
  if (options.prefix) filters.push(sql`(starts_with(w.job_id, ${options.prefix}) or starts_with(w.id, ${options.prefix}))`);
  if (options.subscriptionId) filters.push(sql`w.subscription_id = ${options.subscriptionId}`);
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
    -- "nulls last" as in the indexes (the columns are never null): plain "desc" means nulls first, which no
    -- index has, and Postgres would then read and sort every row of the tenant for one page.
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
