import { sql } from "drizzle-orm";
import { isTerminalEvent, type EventType } from "../../domain/events.js";
import type { Random } from "../../lib/random.js";
import type { PollUpdate } from "../../domain/poll.js";
import type { Database, Executor } from "../client.js";
import { records, textList, ts } from "../sql-values.js";
import { insertDeliveries, WATCH_FOR_DELIVERY_COLUMNS, type DeliveryEvent, type WatchForDelivery } from "./insert-deliveries.js";

/** What one batch write produced (to wake the delivery worker and for logs). */
export interface PollWriteSummary {
  /** Acks whose claim was still ours and were written. */
  written: number;
  /** Acks dropped because a later claim took the row (fencing). */
  fenced: number;
  /** Deliveries created. */
  deliveriesCreated: number;
}

/**
 * Writes a batch of poll outcomes back in one statement (fenced by claim_seq), and, for polls that
 * produced an event, creates the deliveries of every watch on that job and moves the watches on, in
 * the same transaction: a terminal status is never recorded without its callbacks.
 */
export async function recordPollResults(
  db: Database,
  acks: readonly PollUpdate[],
  ctx: { now: Date; random: Random },
): Promise<PollWriteSummary> {
  if (acks.length === 0) return { written: 0, fenced: 0, deliveriesCreated: 0 };
  const withEvents = acks.some((a) => a.event);
  if (!withEvents) {
    const written = await updatePolls(db, db.orm, acks, ctx.now);
    return { written: written.size, fenced: acks.length - written.size, deliveriesCreated: 0 };
  }
  return db.orm.transaction(async (tx) => {
    const written = await updatePolls(db, tx, acks, ctx.now);
    const eventful = acks.filter((a) => a.event && written.has(a.id));
    const deliveriesCreated = await fanOut(db, tx, eventful, ctx);
    return { written: written.size, fenced: acks.length - written.size, deliveriesCreated };
  });
}

async function updatePolls(db: Database, executor: Executor, acks: readonly PollUpdate[], now: Date): Promise<Set<string>> {
  const rows = await db.rows<{ id: string }>(
    sql`
      update polls p
      set status = u.status,
          next_poll_at = u.next_poll_at,
          interval_ms = u.interval_ms,
          plan_ms = coalesce(u.plan_ms, p.plan_ms),
          planned_predictive = coalesce(u.planned_predictive, p.planned_predictive),
          job_type = coalesce(case when jsonb_typeof(u.job -> 'type') = 'string' then left(u.job ->> 'type', 100) end, p.job_type),
          job_status = coalesce(u.job ->> 'status', p.job_status),
          emitted_status = coalesce(u.job ->> 'status', p.emitted_status),
          job = coalesce(u.job, p.job),
          job_fetched_at = case when u.job is null then p.job_fetched_at else ${ts(now)} end,
          not_found_count = u.not_found_count,
          error_count = u.error_count,
          last_error = case when u.polled = 1 then u.last_error else p.last_error end,
          poll_count = p.poll_count - (1 - u.polled), -- the claim counted the poll; a release gives it back
          locked_by = null,
          updated_at = ${ts(now)}
      from jsonb_to_recordset(${records(
        acks.map((a) => ({
          id: a.id,
          claim_seq: a.claimSeq,
          status: a.status,
          next_poll_at: a.nextPollAt.toISOString(),
          interval_ms: a.intervalMs,
          job: a.job ?? null,
          plan_ms: a.planMs ?? null,
          planned_predictive: a.planMs ? (a.plannedPredictive ?? false) : null,
          not_found_count: a.notFoundCount,
          error_count: a.errorCount,
          last_error: a.lastError,
          polled: a.polled,
        })),
      )}) as u(id text, claim_seq int, status text, next_poll_at timestamptz, interval_ms int, job jsonb, plan_ms int[], planned_predictive boolean,
              not_found_count int, error_count int, last_error text, polled int)
      where p.id = u.id and p.claim_seq = u.claim_seq
      returning p.id`,
    executor,
  );
  return new Set(rows.map((r) => r.id));
}

async function fanOut(
  db: Database,
  tx: Executor,
  acks: readonly PollUpdate[],
  ctx: { now: Date; random: Random },
): Promise<number> {
  if (acks.length === 0) return 0;
  const byPoll = new Map(acks.map((a) => [a.id, a]));
  const watching = await db.rows<WatchForDelivery & { poll_id: string; events: string[] }>(
    sql`
      select ${WATCH_FOR_DELIVERY_COLUMNS}, poll_id, events
      from watches
      where poll_id in ${textList([...byPoll.keys()])} and status = 'watching'
      for update`,
    tx,
  );

  const deliveries: { watch: WatchForDelivery; event: DeliveryEvent }[] = [];
  const watchUpdates: { id: string; status: string; last_error: string | null }[] = [];
  for (const w of watching) {
    const ack = byPoll.get(w.poll_id);
    if (!ack?.event) continue;
    const type: EventType = ack.event.type;
    const wanted = type === "watch.expired" || w.events.includes(type);
    if (wanted) {
      deliveries.push({
        watch: w,
        event: {
          type,
          observedAt: ack.observedAt,
          job: ack.job ?? null,
          jobFetchedAt: ack.job ? ack.observedAt : null,
          reason: ack.event.reason,
        },
      });
    }
    if (type === "watch.expired") {
      watchUpdates.push({ id: w.id, status: "expired", last_error: ack.event.reason ?? "expired" });
    } else if (isTerminalEvent(type)) {
      // Nothing to send when the watch did not subscribe to this outcome: it is settled.
      watchUpdates.push({ id: w.id, status: wanted ? "delivering" : "delivered", last_error: null });
    }
  }

  if (deliveries.length > 0) {
    await insertDeliveries(db, tx, deliveries, ctx);
    // A final event must not wait behind an earlier event that sits in a long retry delay: pull that forward
    // (order is kept by the claim, which sends the earlier one first).
    await db.rows(
      sql`
        update deliveries set next_attempt_at = ${ts(ctx.now)}
        where watch_id in ${textList(deliveries.map((d) => d.watch.id))}
          and status = 'pending' and rank = 0 and locked_by is null and next_attempt_at > ${ts(ctx.now)}`,
      tx,
    );
  }
  if (watchUpdates.length > 0) {
    await db.rows(
      sql`
        update watches w
        set status = u.status, last_error = u.last_error, updated_at = ${ts(ctx.now)}
        from jsonb_to_recordset(${records(watchUpdates)}) as u(id text, status text, last_error text)
        where w.id = u.id and w.status = 'watching'`,
      tx,
    );
  }
  return deliveries.length;
}
