import { sql } from "drizzle-orm";
import type { Database, Executor } from "../client.js";

/** The watch a tenant stored under an `Idempotency-Key`, with the fingerprint of the request that created it. */
export async function findWatchByIdempotencyKey(
  db: Database,
  key: { tenantId: string; idempotencyKey: string },
  executor?: Executor,
): Promise<{ watchId: string; requestHash: string | null } | undefined> {
  const [row] = await db.rows<{ id: string; request_hash: string | null }>(
    sql`select id, request_hash from watches where tenant_id = ${key.tenantId} and idempotency_key = ${key.idempotencyKey}`,
    executor,
  );
  return row ? { watchId: row.id, requestHash: row.request_hash } : undefined;
}
