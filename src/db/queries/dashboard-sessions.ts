import { sql } from "drizzle-orm";
import { safeEqual } from "../../lib/hash.js";
import type { Database } from "../client.js";

/** An API key as the dashboard sees it: enough to sign a session and to check it is still valid. */
export interface DashboardKey {
  keyId: string;
  tenantId: string;
  /** The stored SHA-256 hash: the per-key part of the session MAC key (it never leaves the server). */
  keyHash: string;
  /** active | disabled */
  tenantStatus: string;
}

/**
 * The live (unrevoked) API key with this hash, or with this id: the login looks keys up by hash, as the
 * /v1 key check does; every later dashboard request looks its session's key up by id, so a revoked key's
 * sessions stop working at once, in every process.
 */
export async function findDashboardKey(
  db: Database,
  by: { keyHash: string } | { keyId: string; tenantId: string },
): Promise<DashboardKey | undefined> {
  const where = "keyHash" in by ? sql`k.key_hash = ${by.keyHash}` : sql`k.id = ${by.keyId} and k.tenant_id = ${by.tenantId}`;
  const [row] = await db.rows<{ id: string; tenant_id: string; key_hash: string; status: string }>(
    sql`select k.id, k.tenant_id, k.key_hash, t.status
        from api_keys k join tenants t on t.id = k.tenant_id
        where ${where} and k.revoked_at is null
        limit 1`,
  );
  if (!row) return undefined;
  // As in findTenantByKeyHash: the final decision does not depend on data-dependent timing.
  if ("keyHash" in by && !safeEqual(row.key_hash, by.keyHash)) return undefined;
  return { keyId: row.id, tenantId: row.tenant_id, keyHash: row.key_hash, tenantStatus: row.status };
}
