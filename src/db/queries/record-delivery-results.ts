import { sql } from "drizzle-orm";
import type { DeliveryOutcome } from "../../domain/delivery.js";
import { TERMINAL_EVENTS } from "../../domain/events.js";
import type { Database } from "../client.js";
import { records, textList, ts } from "../sql-values.js";

/**
 * Writes a batch of attempt outcomes in ONE statement: the deliveries (fenced by claim_seq, so a claim
 * that lost its lease cannot overwrite the newer claimant's result), the attempt log (every attempt that
 * reached the network is recorded, fenced or not: it happened), and the watches whose final event settled.
 * Idempotent: a batch sent again because the connection died before its answer (it may have committed)
 * changes nothing the second time, as a written-back claim is no longer held (`locked_by` is null) and an
 * attempt already logged is not logged again.
 * @param options.databaseClock times in `acks` were read from the process clock (`now` is that clock's time):
 *   they are moved onto the database's clock, so a relay whose clock is off schedules retries the same way
 * @returns ids of deliveries whose write-back applied
 */
export async function recordDeliveryResults(
  db: Database,
  acks: readonly DeliveryOutcome[],
  now: Date,
  options: { databaseClock?: boolean } = {},
): Promise<Set<string>> {
  if (acks.length === 0) return new Set();
  const updates = acks.map((a) => ({
    id: a.id,
    claim_seq: a.claimSeq,
    status: a.kind === "delivered" ? "delivered" : a.kind === "failed" ? "failed" : "pending",
    release: a.kind === "release",
    next_attempt_at: a.nextAttemptAt?.toISOString() ?? null,
    last_error: a.lastError,
    delivered: a.kind === "delivered",
    attempted_at: a.attempt?.at.toISOString() ?? null,
    body: a.refreshed?.body ?? null,
    job_fetched_at: a.refreshed?.jobFetchedAt.toISOString() ?? null,
  }));
  const attempts = acks.flatMap((a) =>
    a.attempt
      ? [
          {
            tenant_id: a.tenantId,
            delivery_id: a.id,
            attempt: a.attempt.attempt,
            trigger: a.attempt.trigger,
            at: a.attempt.at.toISOString(),
            status_code: a.attempt.statusCode,
            duration_ms: a.attempt.durationMs,
            error: a.attempt.error,
            response_excerpt: a.attempt.responseExcerpt,
            location: a.attempt.location,
          },
        ]
      : [],
  );
  const shift = options.databaseClock ? sql` + (now() - ${ts(now)})` : sql``;
  const rows = await db.rows<{ id: string }>(sql`
    with u as (
      select * from jsonb_to_recordset(${records(updates)})
        as u(id text, claim_seq int, status text, release boolean, next_attempt_at timestamptz, last_error text, delivered boolean,
             attempted_at timestamptz, body text, job_fetched_at timestamptz)
    ),
    upd as (
      update deliveries d
      set status = u.status,
          next_attempt_at = u.next_attempt_at${shift},
          last_error = case when u.release then d.last_error else u.last_error end,
          delivered_at = case when u.delivered then ${ts(now)} else d.delivered_at end,
          last_attempt_at = coalesce(u.attempted_at, d.last_attempt_at),
          body = coalesce(u.body, d.body),
          job_fetched_at = coalesce(u.job_fetched_at, d.job_fetched_at),
          series_attempts = d.series_attempts - (case when u.release then 1 else 0 end),
          total_attempts = d.total_attempts - (case when u.release then 1 else 0 end),
          next_trigger = case when u.release then d.next_trigger else 'scheduled' end,
          locked_by = null,
          updated_at = ${ts(now)}
      from u
      where d.id = u.id and d.claim_seq = u.claim_seq and d.locked_by is not null
      returning d.id, d.watch_id, d.event, d.status, d.last_error
    ),
    logged as (
      insert into delivery_attempts (tenant_id, delivery_id, attempt, trigger, at, status_code, duration_ms, error, response_excerpt, location)
      select a.tenant_id, a.delivery_id, a.attempt, a.trigger, a.at, a.status_code, a.duration_ms, a.error, a.response_excerpt, a.location
      from jsonb_to_recordset(${records(attempts)})
        as a(tenant_id text, delivery_id text, attempt int, trigger text, at timestamptz, status_code int, duration_ms int, error text,
             response_excerpt text, location text)
      where not exists (
        select 1 from delivery_attempts x where x.delivery_id = a.delivery_id and x.attempt = a.attempt and x.at = a.at)
    ),
    settled as (
      update watches w
      set status = case when upd.status = 'delivered' then 'delivered' else 'failed' end,
          last_error = case when upd.status = 'delivered' then null else 'delivery failed: ' || upd.last_error end,
          updated_at = ${ts(now)}
      from upd
      where w.id = upd.watch_id and w.status = 'delivering'
        and upd.status in ('delivered', 'failed')
        and upd.event in ${textList(TERMINAL_EVENTS)}
    )
    select id from upd`);
  return new Set(rows.map((r) => r.id));
}
