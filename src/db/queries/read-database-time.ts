import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { toDate } from "../sql-values.js";

/** The database's own clock right now (`clock_timestamp()`, not the transaction's start). */
export async function readDatabaseTime(db: Database): Promise<Date> {
  const [row] = await db.rows<{ now: Date | string }>(sql`select clock_timestamp() as now`);
  return toDate(row?.now)!;
}
