import { sql } from "drizzle-orm";
import type { BreakerState, OriginSnapshot } from "../../domain/breaker.js";
import type { Database } from "../client.js";
import { records, toDate, ts } from "../sql-values.js";

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** Records breaker states (one statement for the batch), for GET /v1/origins. */
export async function saveOriginStates(db: Database, states: readonly OriginSnapshot[], now: Date): Promise<void> {
  if (states.length === 0) return;
  await db.rows(sql`
    insert into origins (tenant_id, origin, state, consecutive_failures, opened_at, open_until, last_success_at, last_failure_at, updated_at)
    select s.tenant_id, s.origin, s.state, s.consecutive_failures, s.opened_at, s.open_until, s.last_success_at, s.last_failure_at, ${ts(now)}
    from jsonb_to_recordset(${records(
      states.map((s) => ({
        tenant_id: s.tenantId,
        origin: s.origin,
        state: s.state,
        consecutive_failures: s.consecutiveFailures,
        opened_at: iso(s.openedAt),
        open_until: iso(s.openUntil),
        last_success_at: iso(s.lastSuccessAt),
        last_failure_at: iso(s.lastFailureAt),
      })),
    )}) as s(tenant_id text, origin text, state text, consecutive_failures int, opened_at timestamptz, open_until timestamptz,
             last_success_at timestamptz, last_failure_at timestamptz)
    on conflict (tenant_id, origin) do update set
      state = excluded.state,
      consecutive_failures = excluded.consecutive_failures,
      opened_at = excluded.opened_at,
      open_until = excluded.open_until,
      last_success_at = coalesce(excluded.last_success_at, origins.last_success_at),
      last_failure_at = coalesce(excluded.last_failure_at, origins.last_failure_at),
      updated_at = excluded.updated_at`);
}

/**
 * Moves the pending deliveries of origins whose breaker just opened to the end of the pause, so they leave
 * the due range (claims do not rescan them) and the pause uses up none of their attempts.
 */
export async function deferOriginDeliveries(db: Database, paused: readonly OriginSnapshot[]): Promise<number> {
  if (paused.length === 0) return 0;
  const rows = await db.rows<{ id: string }>(sql`
    update deliveries d set next_attempt_at = p.until
    from jsonb_to_recordset(${records(paused.map((p) => ({ tenant_id: p.tenantId, origin: p.origin, until: iso(p.openUntil) })))})
      as p(tenant_id text, origin text, until timestamptz)
    where d.tenant_id = p.tenant_id and d.origin = p.origin and d.status = 'pending' and d.locked_by is null
      and d.next_attempt_at < p.until
    returning d.id`);
  return rows.length;
}

/** A breaker as last recorded, with when it last changed. */
export interface OriginRecord extends Omit<OriginSnapshot, "tenantId"> {
  updatedAt: Date;
}

/** The tenant's origins as last recorded, most recently changed first. */
export async function listOriginStates(db: Database, tenantId: string): Promise<OriginRecord[]> {
  const rows = await db.rows<Record<string, unknown>>(sql`
    select origin, state, consecutive_failures, opened_at, open_until, last_success_at, last_failure_at, updated_at
    from origins where tenant_id = ${tenantId}
    order by updated_at desc, origin
    limit 1000`);
  const date = (v: unknown) => toDate(v as Date | string | null);
  return rows.map((r) => ({
    origin: r.origin as string,
    state: r.state as BreakerState,
    consecutiveFailures: r.consecutive_failures as number,
    openedAt: date(r.opened_at),
    openUntil: date(r.open_until),
    lastSuccessAt: date(r.last_success_at),
    lastFailureAt: date(r.last_failure_at),
    updatedAt: date(r.updated_at)!,
  }));
}
