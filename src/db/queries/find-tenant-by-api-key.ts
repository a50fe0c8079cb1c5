import { sql } from "drizzle-orm";
import { sha256Hex } from "../../lib/hash.js";
import type { Database } from "../client.js";

/** The tenant an API key belongs to, or undefined when the key is unknown or revoked. Looks up by SHA-256 hash. */
export async function findTenantByApiKey(db: Database, apiKey: string): Promise<string | undefined> {
  const rows = await db.rows<{ tenant_id: string }>(
    sql`select tenant_id from api_keys where key_hash = ${sha256Hex(apiKey)} and revoked_at is null limit 1`,
  );
  return rows[0]?.tenant_id;
}
