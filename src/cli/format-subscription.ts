import type { Subscription, SubscriptionFilter } from "../client/index.js";
import { clean, formatFields, formatTable, time } from "./table.js";

/** `studio project_id=prj_123 job_type=export_video`: the source type, then the fields that narrow it. */
export function formatFilter(f: SubscriptionFilter): string {
  const narrowed = (["project_id", "job_type", "source_id"] as const)
    .filter((field) => f[field] !== undefined)
    .map((field) => `${field}=${clean(f[field], 40)}`);
  return [f.source_type, ...narrowed].join(" ");
}

/** One line per subscription, for `subscriptions list`. */
export function formatSubscriptionTable(subscriptions: readonly Subscription[]): string {
  return formatTable(
    ["id", "status", "filter", "discovered", "last listed", "last error", "callback"],
    subscriptions.map((s) => [
      s.id,
      s.status,
      formatFilter(s.filter),
      String(s.discovered_count),
      time(s.last_listed_at),
      clean(s.last_error, 40),
      clean(s.callback_url, 60),
    ]),
  );
}

/** A subscription's fields, for `subscriptions get`, `create` and `delete`. */
export function formatSubscription(s: Subscription, options: { canceledWatches?: number } = {}): string {
  const fields: Array<[string, string]> = [
    ["subscription", s.id],
    ["status", s.status],
    ["filter", formatFilter(s.filter)],
    ["callback", clean(s.callback_url, 200)],
    ["events", s.events.join(", ")],
    ["include existing", s.include_existing ? "yes" : "no"],
    ["retry schedule", s.retry_schedule ?? "relay default"],
    ["metadata", clean(s.metadata, 200)],
    ["callback headers", s.callback_headers ? Object.keys(s.callback_headers).join(", ") : "-"],
    ["baseline", s.baseline_at ? time(s.baseline_at) : "not listed yet"],
    ["last listed", s.last_listed_at ? `${time(s.last_listed_at)} (${s.last_job_count ?? 0} jobs)` : "-"],
    ["last error", clean(s.last_error, 200)],
    ["discovered", `${s.discovered_count} (rendley-relay list --subscription ${s.id})`],
    ["created", time(s.created_at)],
    ["updated", time(s.updated_at)],
    ["deleted", time(s.deleted_at)],
  ];
  if (options.canceledWatches !== undefined) fields.push(["canceled watches", String(options.canceledWatches)]);
  return formatFields(fields);
}
