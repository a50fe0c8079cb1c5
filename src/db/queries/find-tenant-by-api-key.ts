import { sql } from "drizzle-orm";
import { safeEqual } from "../../lib/hash.js";
import type { Database } from "../client.js";

export interface KeyOwner {
  tenantId: string;
  /** active | disabled */
  tenantStatus: string;
}

/**
 * The tenant an API key (given as its SHA-256 hex hash) belongs to, or undefined when the key is unknown
 * or revoked. The lookup is by hash: keys themselves are never stored.
 */
export async function findTenantByKeyHash(db: Database, keyHash: string): Promise<KeyOwner | undefined> {
  const [row] = await db.rows<{ tenant_id: string; status: string; key_hash: string }>(
    sql`select k.tenant_id, t.status, k.key_hash
        from api_keys k join tenants t on t.id = k.tenant_id
        where k.key_hash = ${keyHash} and k.revoked_at is null
        limit 1`,
  );
  // The index found the row; comparing the digests once more in constant time costs nothing and keeps
  // the final decision free of data-dependent timing.
  if (!row || !safeEqual(row.key_hash, keyHash)) return undefined;
  return { tenantId: row.tenant_id, tenantStatus: row.status };
}
