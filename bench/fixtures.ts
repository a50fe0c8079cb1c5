import { sql, type SQL } from "drizzle-orm";
import type { Database } from "../src/db/client.js";
import { DEFAULT_TENANT_ID } from "../src/domain/tenant.js";

/*
 * Rows written straight into the relay's tables, for scenarios that need more rows than the API registers in
 * the time of a run. They follow src/db/schema.ts and migrations/*.sql; columns added later with a default
 * are left to it, so these keep working while the schema grows.
 */

/** The N active watches: due over the next second, on jobs the fake answers `processing` forever. */
export async function insertActive(db: Database, jobIds: readonly string[], callbackUrl: string): Promise<void> {
  const ids = sql`jsonb_array_elements_text(${JSON.stringify(jobIds)}::jsonb) with ordinality as a(job_id, n)`;
  await db.rows(sql`
    insert into polls (id, tenant_id, job_id, status, next_poll_at, interval_ms, created_at, updated_at)
    select 'pol_act_' || n, ${DEFAULT_TENANT_ID}, job_id, 'active', now() + random() * interval '1 second', 1000, now(), now()
    from ${ids}`);
  await db.rows(sql`
    insert into watches (id, tenant_id, poll_id, job_id, callback_url, events, status, created_at, updated_at)
    select 'wch_act_' || n, ${DEFAULT_TENANT_ID}, 'pol_act_' || n, job_id, ${callbackUrl},
           array['job.completed', 'job.failed', 'job.canceled'], 'watching', now(), now()
    from ${ids}`);
}

/** A realistic delivered body (~0.9 KB); `{g}` becomes the row number. */
const BODY = JSON.stringify({
  type: "job.completed",
  timestamp: "2026-11-25T10:00:00.000Z",
  data: {
    watch_id: "wch_done_{g}",
    job_id: "job_done_{g}",
    status: "completed",
    job: {
      id: "job_done_{g}",
      type: "export_video",
      status: "completed",
      input_data: '{"project_id":"prj_bench","settings":{"target_resolution":"1080p","codec":"h264"}}',
      result_data: '{"storage_url":"https://storage.rendley.com/exports/job_done_{g}.mp4","media_id":"med_{g}"}',
      error: null,
      acknowledged: false,
      source_type: "api",
      source_id: "prj_bench",
    },
    result: { storage_url: "https://storage.rendley.com/exports/job_done_{g}.mp4", media_id: "med_{g}" },
    error: null,
    metadata: { order_id: "ord_bench", customer: "cus_bench" },
  },
});

/**
 * Finished history rows [from, to): a done poll, a delivered watch, its delivered `job.completed` delivery and
 * one 200 attempt, finished within the last two days (inside the retention window, so maintenance keeps them).
 * New columns with defaults are left to their defaults: this stays valid while the schema grows.
 */
export async function insertFinished(
  db: Database,
  from: number,
  to: number,
  callbackUrl: string,
  took: Record<string, number>,
): Promise<void> {
  const timed = async (table: string, query: SQL) => {
    const t = performance.now();
    await db.rows(query);
    took[table] = Math.round((took[table] ?? 0) + performance.now() - t);
  };
  const origin = new URL(callbackUrl).origin;
  const rows = sql`
    select g, now() - (g % 172800) * interval '1 second' as at
    from generate_series(${from}::int, ${to - 1}::int) as g`;
  const tenant = DEFAULT_TENANT_ID;
  await timed(
    "polls",
    sql`
    insert into polls (id, tenant_id, job_id, status, next_poll_at, interval_ms, claim_seq, job_status, emitted_status, job,
                       job_fetched_at, poll_count, created_at, updated_at)
    select 'pol_done_' || g, ${tenant}, 'job_done_' || g, 'done', at, 10000, 7, 'completed', 'completed',
           jsonb_build_object('id', 'job_done_' || g, 'type', 'export_video', 'status', 'completed',
                              'input_data', '{"project_id":"prj_bench"}',
                              'result_data', '{"storage_url":"https://storage.rendley.com/exports/job_done_' || g || '.mp4"}',
                              'error', null, 'acknowledged', false, 'source_type', 'api', 'source_id', 'prj_bench'),
           at, 7, at - interval '3 minutes', at
    from (${rows}) r`,
  );
  await timed(
    "watches",
    sql`
    insert into watches (id, tenant_id, poll_id, job_id, callback_url, events, metadata, status, created_at, updated_at)
    select 'wch_done_' || g, ${tenant}, 'pol_done_' || g, 'job_done_' || g, ${callbackUrl},
           array['job.completed', 'job.failed', 'job.canceled'], '{"order_id":"ord_bench"}'::jsonb, 'delivered',
           at - interval '3 minutes', at
    from (${rows}) r`,
  );
  await timed(
    "deliveries",
    sql`
    insert into deliveries (id, tenant_id, watch_id, event, rank, callback_url, origin, body, job_fetched_at, status,
                            series_attempts, total_attempts, next_trigger, next_attempt_at, claim_seq, last_attempt_at,
                            delivered_at, created_at, updated_at)
    select 'msg_done_' || g, ${tenant}, 'wch_done_' || g, 'job.completed', 1, ${callbackUrl}, ${origin},
           replace(${BODY}, '{g}', g::text), at, 'delivered', 1, 1, 'scheduled', null, 1, at, at, at, at
    from (${rows}) r`,
  );
  await timed(
    "delivery_attempts",
    sql`
    insert into delivery_attempts (tenant_id, delivery_id, attempt, trigger, at, status_code, duration_ms)
    select ${tenant}, 'msg_done_' || g, 1, 'scheduled', at, 200, 12
    from (${rows}) r`,
  );
}
