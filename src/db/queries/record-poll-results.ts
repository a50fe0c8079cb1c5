import { sql } from "drizzle-orm";
import type { ClaimedDelivery, DeliveryIntake, DeliveryReservation, FanOut, WatchOnJob } from "../../domain/delivery.js";
import type { JobService } from "../../domain/job.js";
import type { PollUpdate } from "../../domain/poll.js";
import type { Database, Executor } from "../client.js";
import { records, textList, toJson, ts } from "../sql-values.js";
import { insertDeliveries } from "./insert-deliveries.js";

/** The policy that turns poll results into messages and watch transitions (the scheduler's `planFanOut`). */
export type FanOutPlanner = (updates: readonly PollUpdate[], watches: readonly WatchOnJob[]) => FanOut;

/** What one batch write produced (to wake the delivery worker and for logs). */
export interface PollWriteSummary {
  /** Updates whose claim was still ours and were written. */
  written: number;
  /** Updates dropped because a later claim took the row (fencing). */
  fenced: number;
  /** Deliveries created. */
  deliveriesCreated: number;
  /** Of those, the ones created leased to `ctx.intake` and handed to it. */
  handedOver: number;
}

/** What the fan-out is told: the time, the policy, and the delivery worker of this process, if it takes work. */
interface FanOutContext {
  now: Date;
  planFanOut: FanOutPlanner;
  intake?: DeliveryIntake | undefined;
}

/**
 * Writes a batch of poll outcomes back in one statement (fenced by claim_seq), and, for polls that
 * produced an event, creates the deliveries of every watch on that job and moves the watches on, in
 * the same transaction: a terminal status is never recorded without its callbacks.
 *
 * With `ctx.intake` (this process's delivery worker), the deliveries it reserves slots for are created leased to it
 * and handed to it once the transaction committed (`settle`), so they go out without a claim; the rest are created
 * due, for any process's claim. A transaction that fails settles with none: its reserved slots are freed. (One whose
 * commit was sent but not answered may have committed: its leased rows are then claimed again when the lease ends.)
 */
export async function recordPollResults(
  db: Database,
  updates: readonly PollUpdate[],
  ctx: FanOutContext,
): Promise<PollWriteSummary> {
  if (updates.length === 0) return { written: 0, fenced: 0, deliveriesCreated: 0, handedOver: 0 };
  const withEvents = updates.some((a) => a.event);
  if (!withEvents) {
    const written = await updatePolls(db, db.orm, updates, ctx.now);
    return { written: written.size, fenced: updates.length - written.size, deliveriesCreated: 0, handedOver: 0 };
  }
  const reservations: DeliveryReservation[] = [];
  let leased: ClaimedDelivery[] = [];
  try {
    const summary = await db.orm.transaction(async (tx) => {
      const written = await updatePolls(db, tx, updates, ctx.now);
      const eventful = updates.filter((a) => a.event && written.has(a.id));
      const out = await fanOut(db, tx, eventful, ctx, reservations);
      return { written: written.size, fenced: updates.length - written.size, ...out };
    });
    leased = summary.leased;
    return { written: summary.written, fenced: summary.fenced, deliveriesCreated: summary.created, handedOver: leased.length };
  } finally {
    for (const r of reservations) r.settle(leased.filter((d) => r.ids.has(d.id)));
  }
}

async function updatePolls(db: Database, executor: Executor, updates: readonly PollUpdate[], now: Date): Promise<Set<string>> {
  const rows = await db.rows<{ id: string }>(
    sql`
      update polls p
      set status = u.status,
          next_poll_at = u.next_poll_at,
          interval_ms = u.interval_ms,
          plan_ms = coalesce(u.plan_ms, p.plan_ms),
          planned_predictive = coalesce(u.planned_predictive, p.planned_predictive),
          job_type = coalesce(case when jsonb_typeof(u.job -> 'type') = 'string' then left(u.job ->> 'type', 100) end, p.job_type),
          job_status = coalesce(u.job_status, p.job_status),
          emitted_status = coalesce(u.job_status, p.emitted_status),
          job = coalesce(u.job, p.job),
          job_fetched_at = case when u.job is null then p.job_fetched_at else ${ts(now)} end,
          not_found_count = u.not_found_count,
          error_count = u.error_count,
          last_error = case when u.polled = 1 then u.last_error else p.last_error end,
          poll_count = p.poll_count - (1 - u.polled), -- the claim counted the poll; a release gives it back
          locked_by = null,
          updated_at = ${ts(now)}
      from jsonb_to_recordset(${records(
        updates.map((a) => ({
          id: a.id,
          claim_seq: a.claimSeq,
          status: a.status,
          next_poll_at: a.nextPollAt.toISOString(),
          interval_ms: a.intervalMs,
          job: a.job ?? null,
          job_status: a.jobStatus ?? null,
          plan_ms: a.planMs ?? null,
          planned_predictive: a.planMs ? (a.plannedPredictive ?? false) : null,
          not_found_count: a.notFoundCount,
          error_count: a.errorCount,
          last_error: a.lastError,
          polled: a.polled,
        })),
      )}) as u(id text, claim_seq int, status text, next_poll_at timestamptz, interval_ms int, job jsonb, job_status text, plan_ms int[], planned_predictive boolean,
              not_found_count int, error_count int, last_error text, polled int)
      where p.id = u.id and p.claim_seq = u.claim_seq
      returning p.id`,
    executor,
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * Locks the jobs' `watching` watches, asks `planFanOut` what they become, and writes that: the new messages
 * (an earlier message of the same watch waiting in a long retry delay is pulled forward: the final event must
 * not wait behind it, and the claim still sends the earlier one first) and the watches' new statuses. The messages
 * `ctx.intake` reserves slots for are created leased to it (its reservation goes into `reservations` first, for the
 * caller to settle).
 */
async function fanOut(
  db: Database,
  tx: Executor,
  updates: readonly PollUpdate[],
  ctx: FanOutContext,
  reservations: DeliveryReservation[],
): Promise<{ created: number; leased: ClaimedDelivery[] }> {
  if (updates.length === 0) return { created: 0, leased: [] };
  const rows = await db.rows<{
    id: string;
    tenant_id: string;
    job_id: string;
    service: string;
    subscription_id: string | null;
    callback_url: string;
    metadata: unknown;
    retry_schedule_ms: number[] | null;
    callback_headers: unknown;
    poll_id: string;
    events: string[];
  }>(
    sql`
      select id, tenant_id, job_id, service, subscription_id, callback_url, metadata, retry_schedule_ms, callback_headers, poll_id, events
      from watches
      where poll_id in ${textList(updates.map((u) => u.id))} and status = 'watching'
      for update`,
    tx,
  );
  const watches: WatchOnJob[] = rows.map((w) => ({
    id: w.id,
    tenantId: w.tenant_id,
    jobId: w.job_id,
    service: w.service as JobService,
    subscriptionId: w.subscription_id,
    callbackUrl: w.callback_url,
    metadata: toJson<Record<string, unknown>>(w.metadata),
    retryScheduleMs: w.retry_schedule_ms,
    callbackHeaders: toJson<Record<string, string>>(w.callback_headers),
    pollId: w.poll_id,
    events: w.events,
  }));
  const { deliveries, transitions } = ctx.planFanOut(updates, watches);

  let leased: ClaimedDelivery[] = [];
  if (deliveries.length > 0) {
    const { intake } = ctx;
    const reservation = intake?.reserve(deliveries);
    if (reservation) reservations.push(reservation); // settled by the caller however the transaction ends
    const lease =
      intake && reservation?.ids.size ? { workerId: intake.workerId, leaseMs: intake.leaseMs, ids: reservation.ids } : undefined;
    leased = await insertDeliveries(db, tx, deliveries, ctx.now, lease);
    // Only a watch subscribed to job.processing can have an earlier (rank 0) message waiting.
    const subscribedEarlier = new Set(watches.filter((w) => w.events.includes("job.processing")).map((w) => w.id));
    const behind = deliveries.filter((d) => d.rank > 0 && subscribedEarlier.has(d.watchId)).map((d) => d.watchId);
    if (behind.length > 0) {
      await db.rows(
        sql`
          update deliveries set next_attempt_at = ${ts(ctx.now)}
          where watch_id in ${textList(behind)}
            and status = 'pending' and rank = 0 and locked_by is null and next_attempt_at > ${ts(ctx.now)}`,
        tx,
      );
    }
  }
  if (transitions.length > 0) {
    await db.rows(
      sql`
        update watches w
        set status = u.status, last_error = u.last_error, updated_at = ${ts(ctx.now)}
        from jsonb_to_recordset(${records(
          transitions.map((t) => ({ id: t.watchId, status: t.status, last_error: t.lastError })),
        )}) as u(id text, status text, last_error text)
        where w.id = u.id and w.status = 'watching'`,
      tx,
    );
  }
  return { created: deliveries.length, leased };
}
