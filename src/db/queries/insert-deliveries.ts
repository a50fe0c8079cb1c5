import { sql } from "drizzle-orm";
import { leasedDelivery, type ClaimedDelivery, type NewDelivery } from "../../domain/delivery.js";
import type { Database, Executor } from "../client.js";
import { records, ts } from "../sql-values.js";

/** Messages to create already leased to one process (see DeliveryIntake): its worker id, a claim's lease, which ones. */
export interface DeliveryLease {
  workerId: string;
  leaseMs: number;
  ids: ReadonlySet<string>;
}

/**
 * Stores event messages, due now, in one statement. A (watch, event) pair that already has its message is
 * left alone (`on conflict do nothing`).
 *
 * With `lease`, the messages it names are created claimed, as claimDueDeliveries would claim them: `locked_by` the
 * worker, `claim_seq` 1, their first attempt counted, due again when the lease ends (so a process that dies before
 * sending leaves them to the next claim). A message whose watch still has an earlier-ranked message pending (a
 * `job.processing` in its retry delay) is created unleased: the claim sends the earlier one first.
 * @returns the messages created leased, for the worker to send
 */
export async function insertDeliveries(
  db: Database,
  executor: Executor,
  deliveries: readonly NewDelivery[],
  now: Date,
  lease?: DeliveryLease,
): Promise<ClaimedDelivery[]> {
  if (deliveries.length === 0) return [];
  const rows = deliveries.map((d) => ({
    id: d.id,
    tenant_id: d.tenantId,
    watch_id: d.watchId,
    event: d.event,
    rank: d.rank,
    callback_url: d.callbackUrl,
    origin: d.origin,
    body: d.body,
    job_fetched_at: d.jobFetchedAt?.toISOString() ?? null,
    retry_schedule_ms: d.retryScheduleMs,
    extra_headers: d.extraHeaders,
    lease: lease?.ids.has(d.id) === true,
  }));
  const leased = lease && rows.some((r) => r.lease);
  const leaseNow = leased
    ? sql`d.lease and not exists (
             select 1 from deliveries e where e.watch_id = d.watch_id and e.status = 'pending' and e.rank < d.rank)`
    : sql`false`;
  const inserted = await db.rows<{ id: string; claim_seq: number }>(
    sql`
      with d as (
        select d.*, ${leaseNow} as leased
        from jsonb_to_recordset(${records(rows)})
          as d(id text, tenant_id text, watch_id text, event text, rank smallint, callback_url text, origin text, body text,
               job_fetched_at timestamptz, retry_schedule_ms int[], extra_headers jsonb, lease boolean)
      )
      insert into deliveries (id, tenant_id, watch_id, event, rank, callback_url, origin, body, job_fetched_at, retry_schedule_ms,
                              extra_headers, status, next_attempt_at, claim_seq, locked_by, series_attempts, total_attempts,
                              created_at, updated_at)
      select d.id, d.tenant_id, d.watch_id, d.event, d.rank, d.callback_url, d.origin, d.body, d.job_fetched_at,
             d.retry_schedule_ms, d.extra_headers, 'pending',
             case when d.leased then ${ts(now)} + ${lease?.leaseMs ?? 0}::int * interval '1 millisecond' else ${ts(now)} end,
             case when d.leased then 1 else 0 end,
             case when d.leased then ${lease?.workerId ?? null}::text end,
             case when d.leased then 1 else 0 end,
             case when d.leased then 1 else 0 end,
             ${ts(now)}, ${ts(now)}
      from d
      on conflict (watch_id, event) do nothing
      ${leased ? sql`returning id, claim_seq` : sql``}`,
    executor,
  );
  if (!leased) return [];
  const byId = new Map(deliveries.map((d) => [d.id, d]));
  return inserted.filter((r) => r.claim_seq > 0).map((r) => leasedDelivery(byId.get(r.id)!, Number(r.claim_seq)));
}
