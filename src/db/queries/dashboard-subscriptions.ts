import { sql } from "drizzle-orm";
import type { Database } from "../client.js";

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
