import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { ts } from "../sql-values.js";

/** The tenant's secrets valid at `now`, newest first: the first signs, all sign during a rotation's grace period. */
export async function activeSigningSecrets(db: Database, tenantId: string, now: Date): Promise<string[]> {
  const rows = await db.rows<{ secret: string }>(
    sql`select secret from signing_secrets
        where tenant_id = ${tenantId} and (expires_at is null or expires_at > ${ts(now)})
        order by created_at desc`,
  );
  return rows.map((r) => r.secret);
}
