import type { JobService } from "../../domain/job.js";
import { sql } from "drizzle-orm";
import type { Database } from "../client.js";
import { runClaim } from "../run-claim.js";
import { toDate, ts } from "../sql-values.js";
import type { ClaimedPoll, ClaimSchedule } from "../../domain/poll.js";

/**
 * Claims up to `limit` due polls and, in the same statement, schedules each one's next poll: the first
 * offset of its plan still ahead (offsets already behind are dropped; one that is less than the minimum
 * interval ahead is pushed back to it, so a claim that ran late delays the next poll rather than skipping it), or, past
 * the plan, the schedule's backoff to the maximum. A poll whose job did not change therefore needs no second write,
 * and there is no lease to expire: a process that dies mid-poll only means the job is polled at its next
 * planned time. `FOR UPDATE SKIP LOCKED` lets several relays claim side by side, and moving `next_poll_at`
 * ahead takes the rows out of the due range at once, so no claim rescans them.
 */
export async function claimDuePolls(
  db: Database,
  options: {
    workerId: string;
    limit: number;
    now: Date;
    /** How each claimed job's next poll is placed (the scheduler's `claimSchedule`). */
    schedule: ClaimSchedule;
    /**
     * `due` (default): oldest due first. `likely`: when the upstream budget cannot poll everything due, the
     * jobs most likely to have finished first: those whose plan packs polls closest together (plans are dense
     * where completion is likely), then the fresh ones.
     */
    order?: "due" | "likely";
    /** More is due than this claim takes (the last one came back full): walk the due index in order (runClaim). */
    backlog?: boolean;
  },
): Promise<ClaimedPoll[]> {
  const { limit, now } = options;
  const { minIntervalMs, maxIntervalMs, growthFactor, jitterRatio } = options.schedule;
  const order =
    options.order === "likely"
      ? sql`coalesce(started_at + plan_ms[1] * interval '1 millisecond' - next_poll_at, interval_ms * interval '1 millisecond'), next_poll_at`
      : sql`next_poll_at`;
  const rows = await runClaim<{
    id: string;
    tenant_id: string;
    job_id: string;
    service: string;
    claim_seq: number;
    interval_ms: number;
    emitted_status: string | null;
    not_found_count: number;
    error_count: number;
    poll_count: number;
    started_at: Date | string;
    prev_polled_at: Date | string | null;
    job_type: string | null;
    planned_predictive: boolean;
    due_at: Date | string;
  }>(
    db,
    sql`
    with due as materialized (
      select id from polls
      where status = 'active' and next_poll_at <= ${ts(now)}
      order by ${order}
      limit ${limit}::int
      for update skip locked
    ),
    planned as (
      select p.id,
             (select min(o) from unnest(p.plan_ms) o
              where p.started_at + o * interval '1 millisecond' > ${ts(now)}) as next_offset,
             least(round(p.interval_ms * ${growthFactor}::float8), ${maxIntervalMs}::int)::int as grown,
             p.next_poll_at as due_at
      from polls p join due on due.id = p.id
    )
    update polls p
    set next_poll_at = case
          -- a late claim shifts the next planned poll rather than dropping it, keeping the 1 s floor
          when planned.next_offset is not null then greatest(p.started_at + planned.next_offset * interval '1 millisecond',
                                                             ${ts(now)} + ${minIntervalMs}::int * interval '1 millisecond')
          -- past the plan: the interval with ±jitter (spreads jobs registered together), never under the floor
          else ${ts(now)} + greatest(round(p.interval_ms * (1 - ${jitterRatio}::float8 + random() * 2 * ${jitterRatio}::float8)),
                                     ${minIntervalMs}::int) * interval '1 millisecond' end,
        plan_ms = case
          when planned.next_offset is null then '{}'::int[]
          else array(select o from unnest(p.plan_ms) o where o > planned.next_offset order by o) end,
        -- the spacing the job is polled at now: errors back off from it, and past the plan it grows
        interval_ms = case when planned.next_offset is null then planned.grown
                           else least(greatest(planned.next_offset - round(extract(epoch from ${ts(now)} - p.started_at) * 1000)::int,
                                               ${minIntervalMs}::int), ${maxIntervalMs}::int) end,
        claim_seq = p.claim_seq + 1,
        poll_count = p.poll_count + 1,
        prev_polled_at = p.last_polled_at,
        last_polled_at = ${ts(now)}
    from planned
    where p.id = planned.id
    returning p.id, p.tenant_id, p.job_id, p.service, p.claim_seq, p.interval_ms, p.emitted_status, p.not_found_count, p.error_count,
              p.poll_count, p.started_at, p.prev_polled_at, p.job_type, p.planned_predictive,
              planned.due_at`,
    { backlog: options.backlog ?? false },
  );
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    jobId: r.job_id,
    service: r.service as JobService,
    claimSeq: r.claim_seq,
    intervalMs: r.interval_ms,
    emittedStatus: r.emitted_status,
    notFoundCount: r.not_found_count,
    errorCount: r.error_count,
    pollCount: r.poll_count,
    startedAt: toDate(r.started_at)!,
    prevPolledAt: toDate(r.prev_polled_at),
    jobType: r.job_type,
    plannedPredictive: r.planned_predictive,
    dueAt: toDate(r.due_at)!,
  }));
}
