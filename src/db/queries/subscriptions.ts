import { sql, type SQL } from "drizzle-orm";
import type { SubscriptionFilter, SubscriptionStatus } from "../../domain/subscription.js";
import { sha256Hex, stableStringify } from "../../lib/hash.js";
import { newId } from "../../lib/ids.js";
import type { Random } from "../../lib/random.js";
import type { Database, Executor } from "../client.js";
import { cancelRunningWatches } from "./cancel-watch.js";
import { toDate, toJson, ts } from "../sql-values.js";
import type { WatchCursor } from "./list-watches.js";

export interface NewSubscription {
  tenantId: string;
  filter: SubscriptionFilter;
  callbackUrl: string;
  events: readonly string[];
  metadata: Record<string, unknown> | null;
  retryScheduleMs?: readonly number[] | undefined;
  callbackHeaders?: Record<string, string> | undefined;
  includeExisting: boolean;
}

/** A subscription with how its listing last went. */
export interface SubscriptionRecord {
  id: string;
  tenantId: string;
  filter: SubscriptionFilter;
  callbackUrl: string;
  events: string[];
  metadata: Record<string, unknown> | null;
  retryScheduleMs: number[] | null;
  callbackHeaders: Record<string, string> | null;
  includeExisting: boolean;
  status: SubscriptionStatus;
  /** When its first listing (the baseline) was taken; null before. */
  baselineAt: Date | null;
  discoveredCount: number;
  /** Its filter's last listing read whole, that listing's job count, and the last listing's problem (null: it worked). */
  lastListedAt: Date | null;
  lastJobCount: number | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

/** The listing a filter belongs to: subscriptions of one tenant with the same filter share it. */
export function filterKey(filter: SubscriptionFilter): string {
  return sha256Hex(stableStringify(filter)).slice(0, 32);
}

const SELECT = sql`
  select s.id, s.tenant_id, s.filter, s.callback_url, s.events, s.metadata, s.retry_schedule_ms, s.callback_headers,
         s.include_existing, s.status, s.baseline_at, s.discovered_count, s.created_at, s.updated_at, s.deleted_at,
         l.last_listed_at, l.last_job_count, case when s.status = 'active' then l.last_error end as last_error
  from subscriptions s
  left join subscription_listings l on l.tenant_id = s.tenant_id and l.filter_key = s.filter_key`;

type Row = {
  id: string;
  tenant_id: string;
  filter: unknown;
  callback_url: string;
  events: string[];
  metadata: unknown;
  retry_schedule_ms: number[] | null;
  callback_headers: unknown;
  include_existing: boolean;
  status: SubscriptionStatus;
  baseline_at: Date | string | null;
  discovered_count: number;
  created_at: Date | string;
  updated_at: Date | string;
  deleted_at: Date | string | null;
  last_listed_at: Date | string | null;
  last_job_count: number | null;
  last_error: string | null;
};

function toRecord(r: Row): SubscriptionRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    filter: toJson<SubscriptionFilter>(r.filter)!,
    callbackUrl: r.callback_url,
    events: r.events,
    metadata: toJson<Record<string, unknown>>(r.metadata),
    retryScheduleMs: r.retry_schedule_ms,
    callbackHeaders: toJson<Record<string, string>>(r.callback_headers),
    includeExisting: r.include_existing,
    status: r.status,
    baselineAt: toDate(r.baseline_at),
    discoveredCount: r.discovered_count,
    lastListedAt: toDate(r.last_listed_at),
    lastJobCount: r.last_job_count,
    lastError: r.last_error,
    createdAt: toDate(r.created_at)!,
    updatedAt: toDate(r.updated_at)!,
    deletedAt: toDate(r.deleted_at),
  };
}

async function loadOne(db: Database, tenantId: string, id: string, executor?: Executor): Promise<SubscriptionRecord | undefined> {
  const [row] = await db.rows<Row>(sql`${SELECT} where s.tenant_id = ${tenantId} and s.id = ${id}`, executor);
  return row ? toRecord(row) : undefined;
}

/**
 * Stores a subscription and makes sure its filter has a listing: a new filter is listed at once (the baseline);
 * a filter the tenant already lists keeps its schedule (one listing per interval, however many subscriptions).
 */
export async function createSubscription(
  db: Database,
  input: NewSubscription,
  ctx: { now: Date; random: Random },
): Promise<SubscriptionRecord> {
  const id = newId("sub", ctx.random, ctx.now.getTime());
  const key = filterKey(input.filter);
  const now = ts(ctx.now);
  return db.orm.transaction(async (tx) => {
    await db.rows(
      sql`insert into subscriptions (id, tenant_id, filter, filter_key, callback_url, events, metadata, retry_schedule_ms,
                                     callback_headers, include_existing, status, created_at, updated_at)
          select ${id}, ${input.tenantId}, ${JSON.stringify(input.filter)}::jsonb, ${key}, ${input.callbackUrl},
                 (select array_agg(e) from jsonb_array_elements_text(${JSON.stringify(input.events)}::jsonb) as e),
                 ${input.metadata === null ? null : JSON.stringify(input.metadata)}::jsonb,
                 (select r.s from jsonb_to_record(${JSON.stringify({ s: input.retryScheduleMs ?? null })}::jsonb) as r(s int[])),
                 ${input.callbackHeaders ? JSON.stringify(input.callbackHeaders) : null}::jsonb,
                 ${input.includeExisting}, 'active', ${now}, ${now}`,
      tx,
    );
    await db.rows(
      sql`insert into subscription_listings (tenant_id, filter_key, filter, next_list_at, updated_at)
          values (${input.tenantId}, ${key}, ${JSON.stringify(input.filter)}::jsonb, ${now}, ${now})
          on conflict (tenant_id, filter_key) do nothing`,
      tx,
    );
    return (await loadOne(db, input.tenantId, id, tx))!;
  });
}

export async function loadSubscription(db: Database, tenantId: string, id: string): Promise<SubscriptionRecord | undefined> {
  return loadOne(db, tenantId, id);
}

/** One page of a tenant's subscriptions, newest first, by keyset on (created_at, id). */
export async function listSubscriptions(
  db: Database,
  options: { tenantId: string; status?: SubscriptionStatus | undefined; limit: number; after?: WatchCursor | undefined },
): Promise<{ records: SubscriptionRecord[]; next: WatchCursor | null }> {
  const filters: SQL[] = [sql`s.tenant_id = ${options.tenantId}`];
  if (options.status) filters.push(sql`s.status = ${options.status}`);
  if (options.after) filters.push(sql`(s.created_at, s.id) < (${ts(options.after.createdAt)}, ${options.after.id})`);
  const rows = await db.rows<Row>(sql`${SELECT}
    where ${sql.join(filters, sql` and `)}
    order by s.created_at desc nulls last, s.id desc nulls last
    limit ${options.limit + 1}::int`);
  const records = rows.slice(0, options.limit).map(toRecord);
  const last = records.at(-1);
  return { records, next: rows.length > options.limit && last ? { createdAt: last.createdAt, id: last.id } : null };
}

export type DeleteSubscriptionResult =
  { kind: "deleted"; subscription: SubscriptionRecord; canceledWatches: number } | { kind: "not_found" };

/**
 * Stops a subscription's discovery (idempotent: deleting it again answers the same). Its watches finish as
 * usual, unless `cancelWatches`: then every one still running is canceled as `DELETE /v1/watches/{id}` would.
 * A filter no active subscription uses any more loses its listing.
 */
export async function deleteSubscription(
  db: Database,
  tenantId: string,
  id: string,
  options: { now: Date; cancelWatches: boolean },
): Promise<DeleteSubscriptionResult> {
  const now = ts(options.now);
  return db.orm.transaction(async (tx) => {
    const [sub] = await db.rows<{ filter_key: string }>(
      sql`update subscriptions set status = 'deleted', deleted_at = coalesce(deleted_at, ${now}),
                 updated_at = case when status = 'deleted' then updated_at else ${now} end
          where tenant_id = ${tenantId} and id = ${id}
          returning filter_key`,
      tx,
    );
    if (!sub) return { kind: "not_found" };
    await db.rows(
      sql`delete from subscription_listings l
          where l.tenant_id = ${tenantId} and l.filter_key = ${sub.filter_key}
            and not exists (select 1 from subscriptions s
                            where s.tenant_id = l.tenant_id and s.filter_key = l.filter_key and s.status = 'active')`,
      tx,
    );
    const canceledWatches = options.cancelWatches
      ? (await cancelRunningWatches(db, tx, sql`subscription_id = ${id}`, options.now)).length
      : 0;
    return { kind: "deleted", subscription: (await loadOne(db, tenantId, id, tx))!, canceledWatches };
  });
}
