import { sql } from "drizzle-orm";
import type { Database, Executor } from "../client.js";
import { toDate, ts } from "../sql-values.js";

/**
 * The tenant's secrets valid at `now`, newest first: the first signs, all sign during a rotation's grace period.
 * Secrets created in the same instant (a fake clock, concurrent rotations) put the current one first.
 */
export async function activeSigningSecrets(db: Database, tenantId: string, now: Date): Promise<string[]> {
  const rows = await db.rows<{ secret: string }>(
    sql`select secret from signing_secrets
        where tenant_id = ${tenantId} and (expires_at is null or expires_at > ${ts(now)})
        order by created_at desc, expires_at desc nulls first`,
  );
  return rows.map((r) => r.secret);
}

/** The current signing secret, and when the last previous secret still in its grace period stops signing. */
export interface SigningSecretState {
  secret: string;
  /** null when no previous secret still signs at `now`. */
  previousExpiresAt: Date | null;
}

/** The tenant's current secret (expires_at null) at `now`; undefined when it has none. */
export async function currentSigningSecret(
  db: Database,
  tenantId: string,
  now: Date,
  executor?: Executor,
): Promise<SigningSecretState | undefined> {
  const [row] = await db.rows<{ secret: string; previous_expires_at: Date | string | null }>(
    sql`select secret,
               (select max(expires_at) from signing_secrets
                where tenant_id = ${tenantId} and expires_at > ${ts(now)}) as previous_expires_at
        from signing_secrets
        where tenant_id = ${tenantId} and expires_at is null
        order by created_at desc limit 1`,
    executor,
  );
  return row ? { secret: row.secret, previousExpiresAt: toDate(row.previous_expires_at) } : undefined;
}
