import type { DashboardWatchRow } from "../../db/queries/dashboard-watch-list.js";
import type { SubscriptionRecord } from "../../db/queries/subscriptions.js";
import { FILTER_FIELDS, SUBSCRIPTION_STATUSES, type SubscriptionFilter } from "../../domain/subscription.js";
import { WATCH_STATUSES } from "../../domain/watch.js";
import { formatRetrySchedule } from "../watch-view.js";
import { Badge, formatTime, Layout } from "./layout.js";
import { WatchTable } from "./watch-table.js";

/** The subscription list's filters as they appear in the query string. */
export interface SubscriptionFilters {
  status?: string | undefined;
  /** Page size when not the default. */
  limit?: number | undefined;
}

/** `/dashboard/subscriptions?…` with these filters (and a cursor). */
export function subscriptionsHref(filters: SubscriptionFilters, cursor?: string): string {
  const params = new URLSearchParams();
  if (filters.status) params.set("status", filters.status);
  if (filters.limit) params.set("limit", String(filters.limit));
  if (cursor) params.set("cursor", cursor);
  const query = params.toString();
  return query ? `/dashboard/subscriptions?${query}` : "/dashboard/subscriptions";
}

/** `/dashboard/subscriptions/{id}` (with a page size and a cursor into its watches). */
export function subscriptionHref(id: string, paging: { limit?: number | undefined; cursor?: string | undefined } = {}): string {
  const params = new URLSearchParams();
  if (paging.limit) params.set("limit", String(paging.limit));
  if (paging.cursor) params.set("cursor", paging.cursor);
  const query = params.toString();
  return `/dashboard/subscriptions/${encodeURIComponent(id)}${query ? `?${query}` : ""}`;
}

/** The filter as Rendley's job list query reads it: `source_type=studio · project_id=prj_1`. */
export function describeFilter(filter: SubscriptionFilter): string {
  return FILTER_FIELDS.filter((field) => filter[field] !== undefined)
    .map((field) => `${field}=${filter[field]}`)
    .join(" · ");
}

const jobs = (n: number) => `${n} job${n === 1 ? "" : "s"}`;

/** The listing's problem, highlighted; a dash when the last listing worked. */
function LastError(props: { error: string | null }) {
  return props.error ? (
    <span class="badge bad" data-testid="last-error">
      {props.error}
    </span>
  ) : (
    <span class="muted">—</span>
  );
}

function Pager(props: { firstHref: string | undefined; nextHref: string | undefined }) {
  return (
    <div class="pager">
      {props.firstHref ? <a href={props.firstHref}>« First page</a> : null}
      {props.nextHref ? (
        <a href={props.nextHref} rel="next">
          Next page »
        </a>
      ) : null}
    </div>
  );
}

export function SubscriptionsPage(props: {
  csrf: string;
  filters: SubscriptionFilters;
  records: SubscriptionRecord[];
  nextHref: string | undefined;
  paged: boolean;
}) {
  const { filters } = props;
  return (
    <Layout title="Subscriptions" csrf={props.csrf} section="subscriptions">
      <h1>Subscriptions</h1>
      <p class="muted">
        Push for jobs nobody registered: the relay lists each filter's jobs at Rendley, and every new job becomes a watch of the
        subscription.
      </p>
      <form class="filters" method="get" action="/dashboard/subscriptions">
        <div class="field">
          <label for="f-status">Status</label>
          <select id="f-status" name="status">
            <option value="">any</option>
            {SUBSCRIPTION_STATUSES.map((s) => (
              <option value={s} selected={filters.status === s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        {filters.limit ? <input type="hidden" name="limit" value={String(filters.limit)} /> : null}
        <button type="submit">Filter</button>
        {filters.status ? <a href="/dashboard/subscriptions">Clear</a> : null}
      </form>

      <table data-testid="subscription-list">
        <thead>
          <tr>
            <th>Subscription</th>
            <th>Status</th>
            <th>Filter</th>
            <th>Callback URL</th>
            <th>Discovered</th>
            <th>Baseline taken</th>
            <th>Last listed</th>
            <th>Last error</th>
          </tr>
        </thead>
        <tbody>
          {props.records.map((s) => (
            <tr data-subscription-id={s.id}>
              <td>
                <a href={subscriptionHref(s.id)}>
                  <code>{s.id}</code>
                </a>
                <div class="muted">{formatTime(s.createdAt)}</div>
              </td>
              <td>
                <Badge status={s.status} />
              </td>
              <td>
                <code>{describeFilter(s.filter)}</code>
              </td>
              <td>
                <code>{s.callbackUrl}</code>
              </td>
              <td data-testid="discovered-count">{s.discoveredCount}</td>
              <td class="muted">{s.baselineAt ? formatTime(s.baselineAt) : "not yet"}</td>
              <td class="muted">
                {formatTime(s.lastListedAt)}
                {s.lastJobCount !== null ? <div data-testid="last-job-count">{jobs(s.lastJobCount)}</div> : null}
              </td>
              <td>
                <LastError error={s.lastError} />
              </td>
            </tr>
          ))}
          {props.records.length === 0 ? (
            <tr>
              <td colspan={8} class="muted">
                No subscriptions{filters.status ? ` with status ${filters.status}` : ""}. Create one with POST /v1/subscriptions.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <Pager firstHref={props.paged ? subscriptionsHref(filters) : undefined} nextHref={props.nextHref} />
    </Layout>
  );
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

export function SubscriptionPage(props: {
  csrf: string;
  subscription: SubscriptionRecord;
  counts: Record<string, number>;
  watches: DashboardWatchRow[];
  limit: number | undefined;
  nextHref: string | undefined;
  paged: boolean;
}) {
  const s = props.subscription;
  const total = Object.values(props.counts).reduce((a, b) => a + b, 0);
  return (
    <Layout title={`Subscription ${s.id}`} csrf={props.csrf} section="subscriptions">
      <p>
        <a href="/dashboard/subscriptions">« Subscriptions</a>
      </p>
      <h1>
        Subscription <code>{s.id}</code> <Badge status={s.status} />
      </h1>
      {s.lastError ? (
        <div class="error" role="alert">
          The last listing failed: <code>{s.lastError}</code>. Discovery resumes at the next listing.
        </div>
      ) : null}
      <div class="card">
        <dl>
          <dt>Filter</dt>
          <dd>
            <code data-testid="filter">{describeFilter(s.filter)}</code>
          </dd>
          <dt>Callback URL</dt>
          <dd>
            <code>{s.callbackUrl}</code>
          </dd>
          <dt>Events</dt>
          <dd>{s.events.join(", ")}</dd>
          <dt>Retry schedule</dt>
          <dd>{formatRetrySchedule(s.retryScheduleMs) ?? "default"}</dd>
          <dt>Callback headers</dt>
          <dd>{s.callbackHeaders ? Object.keys(s.callbackHeaders).join(", ") : "—"}</dd>
          <dt>Include existing</dt>
          <dd>
            {s.includeExisting ? "yes: jobs finished at the first listing were announced" : "no: the first listing is a baseline"}
          </dd>
          <dt>Created / updated</dt>
          <dd>
            {formatTime(s.createdAt)} / {formatTime(s.updatedAt)}
          </dd>
          {s.deletedAt ? (
            <>
              <dt>Deleted</dt>
              <dd>{formatTime(s.deletedAt)} (discovery stopped)</dd>
            </>
          ) : null}
          <dt>Baseline taken</dt>
          <dd>{s.baselineAt ? formatTime(s.baselineAt) : "not yet: the first listing is pending"}</dd>
          <dt>Discovered jobs</dt>
          <dd data-testid="discovered-count">{s.discoveredCount}</dd>
          <dt>Last listed</dt>
          <dd>
            {formatTime(s.lastListedAt)}
            {s.lastJobCount !== null ? <span data-testid="last-job-count">{` · ${jobs(s.lastJobCount)}`}</span> : null}
          </dd>
          <dt>Last error</dt>
          <dd>
            <LastError error={s.lastError} />
          </dd>
          <dt>Metadata</dt>
          <dd>{s.metadata ? <pre data-testid="metadata">{json(s.metadata)}</pre> : "—"}</dd>
        </dl>
      </div>

      <h2>
        Watches <span class="muted">({total})</span>
      </h2>
      {total > 0 ? (
        <p>
          {WATCH_STATUSES.filter((status) => props.counts[status]).map((status) => (
            <>
              <Badge status={status} /> <b data-testid={`count-${status}`}>{props.counts[status]}</b>{" "}
            </>
          ))}
        </p>
      ) : null}
      <WatchTable rows={props.watches} empty="No job discovered yet: new jobs of the filter appear here." />
      <Pager firstHref={props.paged ? subscriptionHref(s.id, { limit: props.limit }) : undefined} nextHref={props.nextHref} />
    </Layout>
  );
}
