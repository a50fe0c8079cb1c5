import type { AttemptView, DeliveryView, WatchView } from "../watch-view.js";
import { Badge, formatMs, formatTime, Layout } from "./layout.js";

/** Fixed texts for the `?notice=` / `?error=` a redirect after a form carries (never reflected as given). */
export const NOTICES = {
  redelivered: "Redelivery queued: the latest event is being sent again with the same webhook-id.",
} as const;
export const REDELIVER_ERRORS = {
  watch_active: "The job has not finished yet: there is nothing final to redeliver.",
  watch_finished: "The watch was canceled.",
  nothing_to_redeliver: "No event was sent for this watch yet.",
} as const;

const json = (value: unknown) => JSON.stringify(value, null, 2);

function Attempt(props: { attempt: AttemptView }) {
  const a = props.attempt;
  const ok = a.status_code !== null && a.status_code >= 200 && a.status_code < 300;
  return (
    <li class={ok ? "att-ok" : "att-bad"} data-testid="attempt">
      <b>#{a.attempt}</b> <span class="muted">{formatTime(a.at)}</span> · {a.trigger} ·{" "}
      <span class={`badge ${ok ? "ok" : "bad"}`}>{a.status_code === null ? "no response" : `HTTP ${a.status_code}`}</span> ·{" "}
      {formatMs(a.duration_ms)}
      {a.error ? <div class="muted">error: {a.error}</div> : null}
      {a.location ? <div class="muted">location: {a.location}</div> : null}
      {a.response_excerpt ? <pre>{a.response_excerpt}</pre> : null}
    </li>
  );
}

function Delivery(props: { delivery: DeliveryView }) {
  const d = props.delivery;
  return (
    <div class="card" data-testid="delivery" data-delivery-status={d.status}>
      <div>
        <b>{d.event}</b> <Badge status={d.status} /> <span class="muted">webhook-id</span> <code>{d.id}</code>
      </div>
      <div class="muted">
        {[
          d.delivered_at ? `acknowledged ${formatTime(d.delivered_at)}` : "",
          d.next_attempt_at ? `next attempt ${formatTime(d.next_attempt_at)}` : "",
          d.last_error ? `last error: ${d.last_error}` : "",
        ]
          .filter(Boolean)
          .join(" · ")}
      </div>
      {d.attempts.length > 0 ? (
        <ol class="timeline">
          {d.attempts.map((a) => (
            <Attempt attempt={a} />
          ))}
        </ol>
      ) : (
        <p class="muted">No attempt yet.</p>
      )}
    </div>
  );
}

export function WatchPage(props: { csrf: string; watch: WatchView; notice?: string | undefined; error?: string | undefined }) {
  const w = props.watch;
  const pending = w.deliveries.some((d) => d.status === "pending");
  const canRedeliver = w.status !== "watching" && w.status !== "canceled" && w.deliveries.length > 0;
  const jobType = typeof w.job?.type === "string" ? w.job.type : null;
  return (
    <Layout
      title={`Watch ${w.id}`}
      csrf={props.csrf}
      section="watches"
      refreshSeconds={pending || w.status === "watching" ? 5 : undefined}
    >
      <p>
        <a href="/dashboard">« Watches</a>
      </p>
      <h1>
        Watch <code>{w.id}</code> <Badge status={w.status} />
      </h1>
      {props.notice ? (
        <div class="notice" role="status">
          {props.notice}
        </div>
      ) : null}
      {props.error ? (
        <div class="error" role="alert">
          {props.error}
        </div>
      ) : null}
      <div class="card">
        <dl>
          <dt>Job</dt>
          <dd>
            <code data-testid="job-id">{w.job_id}</code>
          </dd>
          <dt>Service</dt>
          <dd data-testid="service">{w.service}</dd>
          <dt>Subscription</dt>
          <dd>
            {w.subscription_id ? (
              <a href={`/dashboard/subscriptions/${encodeURIComponent(w.subscription_id)}`} data-testid="subscription-link">
                <code>{w.subscription_id}</code>
              </a>
            ) : (
              <span class="muted">none: registered by an app</span>
            )}
          </dd>
          <dt>Callback URL</dt>
          <dd>
            <code>{w.callback_url}</code>
          </dd>
          <dt>Events</dt>
          <dd>{w.events.join(", ")}</dd>
          <dt>Retry schedule</dt>
          <dd>{w.retry_schedule ?? "default"}</dd>
          <dt>Callback headers</dt>
          <dd>{w.callback_headers ? Object.keys(w.callback_headers).join(", ") : "—"}</dd>
          <dt>Created / updated</dt>
          <dd>
            {formatTime(w.created_at)} / {formatTime(w.updated_at)}
          </dd>
          <dt>Last error</dt>
          <dd>{w.last_error ?? "—"}</dd>
          <dt>Metadata</dt>
          <dd>{w.metadata ? <pre data-testid="metadata">{json(w.metadata)}</pre> : "—"}</dd>
        </dl>
      </div>

      <h2>Job</h2>
      <div class="card">
        <dl>
          <dt>Status</dt>
          <dd>
            <Badge status={w.job_status} />
          </dd>
          <dt>Type</dt>
          <dd>{jobType ?? "—"}</dd>
          <dt>Last job object</dt>
          <dd>{w.job ? <pre>{json(w.job)}</pre> : <span class="muted">not fetched yet</span>}</dd>
        </dl>
      </div>

      <h2>Deliveries and attempts</h2>
      <form class="actions" method="post" action={`/dashboard/watches/${encodeURIComponent(w.id)}/redeliver`}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <button type="submit" disabled={!canRedeliver}>
          Redeliver
        </button>{" "}
        <span class="muted">
          {canRedeliver
            ? "Sends the latest event again (same webhook-id), as a new series of attempts."
            : "Available once the job has finished and an event was sent."}
        </span>
      </form>
      {w.deliveries.length === 0 ? <p class="muted">No event yet: the job has not changed to a watched status.</p> : null}
      {w.deliveries.map((d) => (
        <Delivery delivery={d} />
      ))}
    </Layout>
  );
}
