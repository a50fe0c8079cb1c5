import { sql } from "drizzle-orm";
import type { Database } from "../client.js";

/** A tenant's Rendley key as stored (encrypted; null when it has none, or the tenant does not exist). */
export async function loadRendleyKeyCiphertext(db: Database, tenantId: string): Promise<string | null> {
  const [row] = await db.rows<{ rendley_key_ciphertext: string | null }>(
    sql`select rendley_key_ciphertext from tenants where id = ${tenantId}`,
  );
  return row?.rendley_key_ciphertext ?? null;
}
