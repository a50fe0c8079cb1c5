import type { Delivery, Watch } from "../client/index.js";
import { clean, formatFields, formatTable, time } from "./table.js";

function deliverySummary(deliveries: readonly Delivery[]): string {
  if (deliveries.length === 0) return "-";
  const counts = new Map<string, number>();
  for (const d of deliveries) counts.set(d.status, (counts.get(d.status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${n} ${status}`).join(", ");
}

/** One line per watch, for `list`. */
export function formatWatchTable(watches: readonly Watch[]): string {
  return formatTable(
    ["id", "status", "job", "job status", "deliveries", "created", "callback"],
    watches.map((w) => [
      w.id,
      w.status,
      clean(w.job_id, 40),
      clean(w.job_status),
      deliverySummary(w.deliveries),
      time(w.created_at),
      clean(w.callback_url, 60),
    ]),
  );
}

/** A watch's summary, then its deliveries and every delivery's attempts, for `get` and the other one-watch commands. */
export function formatWatch(w: Watch, options: { attempts?: boolean } = {}): string {
  const fields: Array<[string, string]> = [
    ["watch", w.id],
    ["status", w.status],
    ["job", `${clean(w.job_id)} (${w.job_status ?? "not polled yet"})`],
    ...(w.subscription_id ? [["subscription", w.subscription_id] as [string, string]] : []),
    ["callback", clean(w.callback_url, 200)],
    ["events", w.events.join(", ")],
    ["retry schedule", w.retry_schedule ?? "relay default"],
    ["metadata", clean(w.metadata, 200)],
    ["callback headers", w.callback_headers ? Object.keys(w.callback_headers).join(", ") : "-"],
    ["last error", clean(w.last_error, 200)],
    ["created", time(w.created_at)],
    ["updated", time(w.updated_at)],
  ];
  if (w.upstream_cancel) fields.push(["upstream cancel", w.upstream_cancel]);
  const parts = [formatFields(fields)];
  if (w.deliveries.length === 0) {
    parts.push("no deliveries");
    return parts.join("\n\n");
  }
  parts.push(
    `deliveries:\n${formatTable(
      ["id", "event", "status", "attempts", "next attempt", "delivered", "last error"],
      w.deliveries.map((d) => [
        d.id,
        d.event,
        d.status,
        String(d.attempts.length),
        time(d.next_attempt_at),
        time(d.delivered_at),
        clean(d.last_error, 60),
      ]),
    )}`,
  );
  if (options.attempts !== false) {
    for (const d of w.deliveries) {
      if (d.attempts.length === 0) continue;
      parts.push(
        `attempts of ${d.id} (${d.event}):\n${formatTable(
          ["#", "trigger", "at", "status", "ms", "error", "location", "response"],
          d.attempts.map((a) => [
            String(a.attempt),
            a.trigger,
            time(a.at),
            a.status_code === null ? "-" : String(a.status_code),
            String(a.duration_ms),
            clean(a.error),
            clean(a.location, 60),
            clean(a.response_excerpt, 40),
          ]),
        )}`,
      );
    }
  }
  return parts.join("\n\n");
}
