import type { DashboardWatchRow } from "../../db/queries/dashboard-watch-list.js";
import { Badge, formatTime } from "./layout.js";

/** A page of watches as a table (rows carry `data-watch-id`), linking each to its watch page. */
export function WatchTable(props: { rows: DashboardWatchRow[]; empty: string }) {
  return (
    <table data-testid="watch-list">
      <thead>
        <tr>
          <th>Watch</th>
          <th>Job</th>
          <th>Status</th>
          <th>Job status</th>
          <th>Events</th>
          <th>Created</th>
          <th>Last error</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((w) => (
          <tr data-watch-id={w.id}>
            <td>
              <a href={`/dashboard/watches/${encodeURIComponent(w.id)}`}>
                <code>{w.id}</code>
              </a>
            </td>
            <td>
              <code>{w.jobId}</code>
              {w.jobType ? <div class="muted">{w.jobType}</div> : null}
            </td>
            <td>
              <Badge status={w.status} />
            </td>
            <td>
              <Badge status={w.jobStatus} />
            </td>
            <td class="muted">{w.events.join(", ")}</td>
            <td class="muted">{formatTime(w.createdAt)}</td>
            <td class="muted">{w.lastError ?? ""}</td>
          </tr>
        ))}
        {props.rows.length === 0 ? (
          <tr>
            <td colspan={7} class="muted">
              {props.empty}
            </td>
          </tr>
        ) : null}
      </tbody>
    </table>
  );
}
