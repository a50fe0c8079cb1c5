import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { toDate, ts } from "../sql-values.js";

/** Stored state the metrics report, read in one statement. */
export interface MetricsSnapshot {
  /** Watches of every tenant, by status. */
  watchesByStatus: Record<string, number>;
  /** Active polls with next_poll_at <= now: what the scheduler has yet to claim. */
  duePolls: number;
  /** now − the oldest due poll's next_poll_at (0 with nothing due). */
  oldestDueAgeMs: number;
}

/**
 * One round trip: a grouped count of watches and the due backlog. The backlog part repeats the partial index's
 * predicate (`status = 'active'`, polls_due_idx on next_poll_at), so it reads only the due range of that index,
 * never the finished polls. Callers cache the result (scrapes must not load the database).
 */
export async function loadMetricsSnapshot(db: Database, now: Date): Promise<MetricsSnapshot> {
  const rows = await db.rows<{ kind: string; key: string | null; n: number | string; oldest: Date | string | null }>(sql`
    select 'watches' as kind, status as key, count(*) as n, null::timestamptz as oldest
    from watches group by status
    union all
    select 'due', null, count(*), min(next_poll_at)
    from polls where status = 'active' and next_poll_at <= ${ts(now)}`);
  const snapshot: MetricsSnapshot = { watchesByStatus: {}, duePolls: 0, oldestDueAgeMs: 0 };
  for (const row of rows) {
    if (row.kind === "watches" && row.key !== null) {
      snapshot.watchesByStatus[row.key] = Number(row.n);
    } else if (row.kind === "due") {
      snapshot.duePolls = Number(row.n);
      const oldest = toDate(row.oldest);
      snapshot.oldestDueAgeMs = oldest ? Math.max(0, now.getTime() - oldest.getTime()) : 0;
    }
  }
  return snapshot;
}
