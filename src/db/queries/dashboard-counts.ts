import { sql } from "drizzle-orm";
import type { Database } from "../client.js";

/**
 * A tenant's watches counted by status in one grouped query (an index-only scan of
 * watches_tenant_status_created_idx). Statuses without watches are absent.
 */
export async function countWatchesByStatus(db: Database, tenantId: string): Promise<Record<string, number>> {
  const rows = await db.rows<{ status: string; n: number | string }>(
    sql`select status, count(*) as n from watches where tenant_id = ${tenantId} group by status`,
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
