import type { LatencyBucket } from "../../db/queries/dashboard-latency.js";
import type { DashboardWatchRow } from "../../db/queries/dashboard-watch-list.js";
import { JOB_EVENTS } from "../../domain/events.js";
import { WATCH_STATUSES } from "../../domain/watch.js";
import { LatencyChart } from "./latency-chart.js";
import { Badge, Layout } from "./layout.js";
import { WatchTable } from "./watch-table.js";

export const EVENT_FILTERS: readonly string[] = JOB_EVENTS;

/** The list's filters as they appear in the query string. */
export interface ListFilters {
  q?: string | undefined;
  status?: string | undefined;
  event?: string | undefined;
  /** Page size when not the default. */
  limit?: number | undefined;
}

/** `/dashboard?…` with these filters (and a cursor): links keep the filters the page was opened with. */
export function overviewHref(filters: ListFilters, cursor?: string): string {
  const params = new URLSearchParams();
  if (filters.q) params.set("q", filters.q);
  if (filters.status) params.set("status", filters.status);
  if (filters.event) params.set("event", filters.event);
  if (filters.limit) params.set("limit", String(filters.limit));
  if (cursor) params.set("cursor", cursor);
  const query = params.toString();
  return query ? `/dashboard?${query}` : "/dashboard";
}

export function OverviewPage(props: {
  csrf: string;
  counts: Record<string, number>;
  filters: ListFilters;
  rows: DashboardWatchRow[];
  nextHref: string | undefined;
  paged: boolean;
  latency: LatencyBucket[];
  now: Date;
}) {
  const { filters, counts } = props;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return (
    <Layout title="Watches" csrf={props.csrf} section="watches">
      <h1>Watches</h1>
      <nav class="counters" aria-label="Watches by status">
        <a class={`counter${filters.status ? "" : " on"}`} href={overviewHref({ ...filters, status: undefined })}>
          <span class="muted">all</span>
          <b data-testid="count-all">{total}</b>
        </a>
        {WATCH_STATUSES.map((status) => (
          <a class={`counter${filters.status === status ? " on" : ""}`} href={overviewHref({ ...filters, status })}>
            <Badge status={status} />
            <b data-testid={`count-${status}`}>{counts[status] ?? 0}</b>
          </a>
        ))}
      </nav>

      <LatencyChart buckets={props.latency} now={props.now} />

      <form class="filters" method="get" action="/dashboard" role="search">
        <div class="field">
          <label for="f-q">Job id or watch id (prefix)</label>
          <input id="f-q" type="search" name="q" value={filters.q ?? ""} maxlength={128} placeholder="job_…" />
        </div>
        <div class="field">
          <label for="f-status">Status</label>
          <select id="f-status" name="status">
            <option value="">any</option>
            {WATCH_STATUSES.map((s) => (
              <option value={s} selected={filters.status === s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-event">Event</label>
          <select id="f-event" name="event">
            <option value="">any</option>
            {EVENT_FILTERS.map((e) => (
              <option value={e} selected={filters.event === e}>
                {e}
              </option>
            ))}
          </select>
        </div>
        {filters.limit ? <input type="hidden" name="limit" value={String(filters.limit)} /> : null}
        <button type="submit">Filter</button>
        {filters.q || filters.status || filters.event ? <a href="/dashboard">Clear</a> : null}
      </form>

      <WatchTable rows={props.rows} empty="No watches match." />
      <div class="pager">
        {props.paged ? <a href={overviewHref(filters)}>« First page</a> : null}
        {props.nextHref ? (
          <a href={props.nextHref} rel="next">
            Next page »
          </a>
        ) : null}
      </div>
    </Layout>
  );
}
