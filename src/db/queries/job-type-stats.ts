import { sql } from "drizzle-orm";
import { type TypeStats, statsKey } from "../../domain/type-stats.js";
import type { Database } from "../client.js";
import { records, ts } from "../sql-values.js";

/** Every learned job-type fit (a few rows per tenant). */
export async function loadJobTypeStats(db: Database): Promise<Map<string, TypeStats>> {
  const rows = await db.rows<{ tenant_id: string; job_type: string; samples: number; mean_log: number; var_log: number }>(
    sql`select tenant_id, job_type, samples, mean_log, var_log from job_type_stats`,
  );
  return new Map(
    rows.map((r) => [statsKey(r.tenant_id, r.job_type), { samples: r.samples, meanLog: r.mean_log, varLog: r.var_log }]),
  );
}

/** Stores updated fits in one statement (last writer wins: these are statistics, not ledgers). */
export async function saveJobTypeStats(
  db: Database,
  entries: readonly { tenantId: string; jobType: string; stats: TypeStats }[],
  now: Date,
): Promise<void> {
  if (entries.length === 0) return;
  await db.rows(sql`
    insert into job_type_stats (tenant_id, job_type, samples, mean_log, var_log, updated_at)
    select s.tenant_id, s.job_type, s.samples, s.mean_log, s.var_log, ${ts(now)}
    from jsonb_to_recordset(${records(
      entries.map((e) => ({
        tenant_id: e.tenantId,
        job_type: e.jobType,
        samples: e.stats.samples,
        mean_log: e.stats.meanLog,
        var_log: e.stats.varLog,
      })),
    )}) as s(tenant_id text, job_type text, samples float8, mean_log float8, var_log float8)
    on conflict (tenant_id, job_type) do update set
      samples = excluded.samples, mean_log = excluded.mean_log, var_log = excluded.var_log, updated_at = excluded.updated_at`);
}
