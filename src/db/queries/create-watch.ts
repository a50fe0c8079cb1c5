import { sql, type SQL } from "drizzle-orm";
import { newDelivery } from "../../domain/delivery.js";
import type { JobEvent } from "../../domain/events.js";
import { DEFAULT_JOB_SERVICE, type JobService, type UpstreamJob } from "../../domain/job.js";
import { newId } from "../../lib/ids.js";
import type { Random } from "../../lib/random.js";
import type { Database, Executor } from "../client.js";
import { toDate, toJson, ts } from "../sql-values.js";
import { findWatchByIdempotencyKey } from "./find-watch-by-idempotency-key.js";
import { insertDeliveries } from "./insert-deliveries.js";
import { toWatchRecord, type WatchRecord, type WatchRow } from "./load-watches.js";

export interface NewWatch {
  tenantId: string;
  jobId: string;
  /** The Rendley service that owns the job; default `api`. */
  service?: JobService | undefined;
  /** The subscription that discovered the job (a discovered watch), if any. */
  subscriptionId?: string | undefined;
  callbackUrl: string;
  events: readonly JobEvent[];
  metadata: Record<string, unknown> | null;
  /** The watch's own retry delays; undefined uses DELIVERY_RETRY_SCHEDULE. */
  retryScheduleMs?: readonly number[] | undefined;
  /** Extra headers for its callbacks. */
  callbackHeaders?: Record<string, string> | undefined;
  idempotencyKey?: string | undefined;
  /** Fingerprint of the request body, compared when the idempotency key repeats. */
  requestHash?: string | undefined;
}

/**
 * `created`: with the watch when no delivery was made for it yet (the caller can answer without reading it back).
 * `repeat`: the idempotency key already made this watch with the same request. `conflict`: with another request.
 */
export type CreateWatchResult =
  | { kind: "created"; watchId: string; watch?: WatchRecord }
  | { kind: "repeat"; watchId: string }
  | { kind: "conflict"; watchId: string };

/**
 * Registers a watch. One poll row per (tenant, job) is shared by every watch on the job:
 * - no row, or a finished one: it becomes active and due now (the first poll happens at once; a job that
 *   already finished is re-read, which also refreshes its time-limited result links);
 * - an active row keeps its cadence, so the upstream sees one poll stream however many watches join.
 * A watch joining a job already seen `processing` gets its `job.processing` event here, since the
 * scheduler only emits events on status changes.
 */
export async function createWatch(
  db: Database,
  input: NewWatch,
  ctx: { now: Date; random: Random; pollMinIntervalMs: number },
): Promise<CreateWatchResult> {
  const watchId = newId("wch", ctx.random, ctx.now.getTime());
  // The common case in one statement (one round trip, no BEGIN/COMMIT): no idempotency key, and not a watch
  // joining a job already seen processing (that one also needs its job.processing delivery, written below).
  if (!input.idempotencyKey) {
    const wantsProcessing = input.events.includes("job.processing");
    const [r] = await db.rows<WatchRow & { poll_job_status: string | null; poll_job: unknown; poll_last_error: string | null }>(
      sql`
        with before as (${pollBefore(input)}),
        p as (${upsertPoll(input, ctx)}),
        w as (
          ${insertWatch(input, watchId, sql`(select id from p)`, ctx.now)}
          and not exists (select 1 from p where p.was_active and p.job_status = 'processing' and ${wantsProcessing}::boolean)
          returning ${WATCH_COLUMNS}
        )
        select w.*, p.job_status as poll_job_status, p.job as poll_job, p.last_error as poll_last_error from p left join w on true`,
    );
    if (r?.id) {
      const { poll_job_status, poll_job, poll_last_error, ...watch } = r;
      // As loadWatches shows it: while watching, the job's latest upstream problem is the watch's too.
      return {
        kind: "created",
        watchId,
        watch: toWatchRecord({
          ...watch,
          job_status: poll_job_status,
          job: poll_job,
          last_error: watch.last_error ?? poll_last_error,
        }),
      };
    }
  }
  return createWatchInTransaction(db, input, watchId, ctx);
}

const WATCH_COLUMNS = sql.raw(
  "id, job_id, service, subscription_id, callback_url, events, metadata, retry_schedule_ms, callback_headers, status, last_error, created_at, updated_at",
);

const serviceOf = (input: NewWatch) => input.service ?? DEFAULT_JOB_SERVICE;

const pollBefore = (input: NewWatch) =>
  sql`select status from polls where tenant_id = ${input.tenantId} and service = ${serviceOf(input)} and job_id = ${input.jobId}`;

/** The poll row upsert (needs a `before` CTE holding the row's status before it). */
function upsertPoll(input: NewWatch, ctx: { now: Date; random: Random; pollMinIntervalMs: number }) {
  const { now } = ctx;
  return sql`
    insert into polls (id, tenant_id, service, job_id, status, next_poll_at, interval_ms, started_at, plan_ms, created_at, updated_at)
    values (${newId("pol", ctx.random, now.getTime())}, ${input.tenantId}, ${serviceOf(input)}, ${input.jobId}, 'active', ${ts(now)},
            ${ctx.pollMinIntervalMs}::int, ${ts(now)}, '{}', ${ts(now)}, ${ts(now)})
    on conflict (tenant_id, service, job_id) do update set
      status = 'active',
      next_poll_at = case when polls.status = 'active' then polls.next_poll_at else excluded.next_poll_at end,
      interval_ms = case when polls.status = 'active' then polls.interval_ms else excluded.interval_ms end,
      not_found_count = case when polls.status = 'active' then polls.not_found_count else 0 end,
      started_at = case when polls.status = 'active' then polls.started_at else excluded.started_at end,
      plan_ms = case when polls.status = 'active' then polls.plan_ms else excluded.plan_ms end,
      planned_predictive = case when polls.status = 'active' then polls.planned_predictive else false end,
      -- A finished job read again must produce its event for the new watch.
      emitted_status = case when polls.status = 'active' then polls.emitted_status else null end,
      updated_at = excluded.updated_at
    returning id, coalesce((select status = 'active' from before), false) as was_active, job_status, job, job_fetched_at,
              last_error`;
}

/** `insert into watches … select … where true` (the caller may add `and …` conditions and the returning list). */
function insertWatch(input: NewWatch, watchId: string, pollId: SQL, now: Date) {
  return sql`
    insert into watches (id, tenant_id, poll_id, job_id, service, subscription_id, callback_url, events, metadata, retry_schedule_ms,
                         callback_headers, status, idempotency_key, request_hash, created_at, updated_at)
    select ${watchId}, ${input.tenantId}, ${pollId}, ${input.jobId}, ${serviceOf(input)}, ${input.subscriptionId ?? null},
           ${input.callbackUrl},
           (select array_agg(e) from jsonb_array_elements_text(${JSON.stringify(input.events)}::jsonb) as e),
           ${input.metadata === null ? null : JSON.stringify(input.metadata)}::jsonb,
           (select r.s from jsonb_to_record(${JSON.stringify({ s: input.retryScheduleMs ?? null })}::jsonb) as r(s int[])),
           ${input.callbackHeaders ? JSON.stringify(input.callbackHeaders) : null}::jsonb,
           'watching', ${input.idempotencyKey ?? null}, ${input.requestHash ?? null}, ${ts(now)}, ${ts(now)}
    where true`;
}

async function createWatchInTransaction(
  db: Database,
  input: NewWatch,
  watchId: string,
  ctx: { now: Date; random: Random; pollMinIntervalMs: number },
): Promise<CreateWatchResult> {
  const { now, random } = ctx;
  return db.orm.transaction(async (tx) => {
    const key = input.idempotencyKey;
    if (key) {
      const repeat = await findByIdempotencyKey(db, tx, input, key);
      if (repeat) return repeat;
    }
    const [poll] = await db.rows<{
      id: string;
      was_active: boolean;
      job_status: string | null;
      job: unknown;
      job_fetched_at: Date | string | null;
      last_error: string | null;
    }>(sql`with before as (${pollBefore(input)}) ${upsertPoll(input, ctx)}`, tx);
    if (!poll) throw new Error("poll upsert returned no row");

    const inserted = await db.rows<Omit<WatchRow, "job_status" | "job">>(
      sql`${insertWatch(input, watchId, sql`${poll.id}`, now)}
          on conflict (tenant_id, idempotency_key) do nothing
          returning ${WATCH_COLUMNS}`,
      tx,
    );
    if (inserted.length === 0) {
      // Only a key conflicts: a concurrent request with the same key won the race; answer as a repeat of it.
      const repeat = key ? await findByIdempotencyKey(db, tx, input, key) : undefined;
      if (repeat) return repeat;
      throw new Error("idempotent insert lost a race but found no winner");
    }

    if (poll.was_active && poll.job_status === "processing" && input.events.includes("job.processing")) {
      const watch = {
        id: watchId,
        tenantId: input.tenantId,
        jobId: input.jobId,
        service: serviceOf(input),
        subscriptionId: input.subscriptionId ?? null,
        callbackUrl: input.callbackUrl,
        metadata: input.metadata,
        retryScheduleMs: input.retryScheduleMs ? [...input.retryScheduleMs] : null,
        callbackHeaders: input.callbackHeaders ?? null,
      };
      const event = {
        type: "job.processing" as const,
        observedAt: now,
        job: toJson<UpstreamJob>(poll.job),
        jobFetchedAt: toDate(poll.job_fetched_at),
      };
      await insertDeliveries(db, tx, [newDelivery(newId("msg", random, now.getTime()), watch, event)], now);
      return { kind: "created", watchId };
    }
    const row: WatchRow = { ...inserted[0]!, job_status: poll.job_status, job: poll.job };
    row.last_error = row.last_error ?? poll.last_error;
    return { kind: "created", watchId, watch: toWatchRecord(row) };
  });
}

/** The watch stored under the input's idempotency key, as a repeat (same request) or a conflict (another one). */
async function findByIdempotencyKey(
  db: Database,
  tx: Executor,
  input: NewWatch,
  idempotencyKey: string,
): Promise<Extract<CreateWatchResult, { kind: "repeat" | "conflict" }> | undefined> {
  const existing = await findWatchByIdempotencyKey(db, { tenantId: input.tenantId, idempotencyKey }, tx);
  if (!existing) return undefined;
  const kind = existing.requestHash === (input.requestHash ?? null) ? "repeat" : "conflict";
  return { kind, watchId: existing.watchId };
}
