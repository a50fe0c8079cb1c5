import { sql, type SQL } from "drizzle-orm";
import type { Database } from "../client.js";
import { ts } from "../sql-values.js";

/** Position after which the next page starts (newest first: created_at desc, id desc). */
export interface WatchCursor {
  createdAt: Date;
  id: string;
}

/**
 * One page of watch ids, newest first, by keyset on (created_at, id): pages never overlap or skip rows,
 * however many watches are added meanwhile, and the cost does not depend on how deep the page is.
 */
export async function listWatchIds(
  db: Database,
  options: {
    tenantId: string;
    status?: string | undefined;
    jobId?: string | undefined;
    /** Only the watches a subscription discovered. */
    subscriptionId?: string | undefined;
    limit: number;
    after?: WatchCursor | undefined;
  },
): Promise<{ ids: string[]; next: WatchCursor | null }> {
  const filters: SQL[] = [sql`tenant_id = ${options.tenantId}`];
  if (options.status) filters.push(sql`status = ${options.status}`);
  if (options.jobId) filters.push(sql`job_id = ${options.jobId}`);
  if (options.subscriptionId) filters.push(sql`subscription_id = ${options.subscriptionId}`);
  if (options.after) filters.push(sql`(created_at, id) < (${ts(options.after.createdAt)}, ${options.after.id})`);
  const rows = await db.rows<{ id: string; created_at: Date | string }>(sql`
    select id, created_at from watches
    where ${sql.join(filters, sql` and `)}
    order by created_at desc nulls last, id desc nulls last -- as the indexes are built (NULLS FIRST would sort every row)
    limit ${options.limit + 1}::int`);
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  const next =
    rows.length > options.limit && last
      ? { createdAt: last.created_at instanceof Date ? last.created_at : new Date(last.created_at), id: last.id }
      : null;
  return { ids: page.map((r) => r.id), next };
}
