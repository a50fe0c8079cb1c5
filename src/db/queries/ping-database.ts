import { sql } from "drizzle-orm";
import type { Database } from "../client.js";

/** `select 1`: resolves when the database answers, rejects when it does not. */
export async function pingDatabase(db: Database): Promise<void> {
  await db.rows(sql`select 1`);
}
