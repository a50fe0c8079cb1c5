import { Command, Option } from "commander";
import {
  SOURCE_TYPES,
  SUBSCRIPTION_STATUSES,
  type CreateSubscriptionInput,
  type JobEvent,
  type SourceType,
  type Subscription,
  type SubscriptionStatus,
} from "../client/index.js";
import { print, printJson, tenantClient, warn, type CliContext, type ConnectionOptions } from "./context.js";
import { formatSubscription, formatSubscriptionTable } from "./format-subscription.js";
import { collectEvents, EVENTS, metadataObject, wholeNumber, withTenantOptions } from "./options.js";
import { UsageError } from "./usage-error.js";

type Common = ConnectionOptions & { json?: boolean };

interface CreateOptions extends Common {
  callbackUrl?: string;
  callback?: string;
  sourceType: SourceType;
  projectId?: string;
  jobType?: string;
  sourceId?: string;
  event?: JobEvent[];
  events?: JobEvent[];
  metadata?: Record<string, unknown>;
  retrySchedule?: string;
  includeExisting?: boolean;
}

const CREATE_EXAMPLES = `
Examples:
  rendley-relay subscriptions create --callback-url https://app.example.com/hook --source-type studio --project-id prj_123
  rendley-relay subscriptions create --callback-url https://app.example.com/hook --source-type api \\
    --job-type export_video --event job.completed --include-existing`;

/** The API's body from `subscriptions create`'s options. */
function createBody(o: CreateOptions): CreateSubscriptionInput {
  const callbackUrl = o.callbackUrl ?? o.callback;
  if (callbackUrl === undefined) throw new UsageError("required option '--callback-url <url>' not specified");
  const events = [...(o.event ?? []), ...(o.events ?? [])];
  return {
    callback_url: callbackUrl,
    filter: {
      source_type: o.sourceType,
      ...(o.projectId !== undefined ? { project_id: o.projectId } : {}),
      ...(o.jobType !== undefined ? { job_type: o.jobType } : {}),
      ...(o.sourceId !== undefined ? { source_id: o.sourceId } : {}),
    },
    ...(events.length > 0 ? { events: [...new Set(events)] } : {}),
    ...(o.metadata ? { metadata: o.metadata } : {}),
    ...(o.retrySchedule !== undefined ? { retry_schedule: o.retrySchedule } : {}),
    ...(o.includeExisting ? { include_existing: true } : {}),
  };
}

/** `subscriptions create|list|get|delete`: push for Rendley jobs nobody registered. */
export function subscriptionsCommand(ctx: CliContext): Command {
  const show = (o: Common, s: Subscription) => (o.json ? printJson(ctx, s) : print(ctx, formatSubscription(s)));

  const create = withTenantOptions(
    new Command("create").description(
      "make every new job in Rendley's job list under a filter a watch (the first listing is a baseline)",
    ),
  )
    .option("--callback-url <url>", "where the relay POSTs the callbacks of every discovered job (required)")
    .addOption(new Option("--callback <url>").hideHelp().conflicts("callbackUrl"))
    .addOption(
      new Option("--source-type <type>", "where the jobs were made (studio: the Rendley editor)")
        .choices(SOURCE_TYPES)
        .makeOptionMandatory(),
    )
    .option("--project-id <id>", "only this project's jobs")
    .option("--job-type <type>", "only jobs of this type, e.g. export_video")
    .option("--source-id <id>", "only jobs with this source id")
    .option(
      "--event <event>",
      `an event of each job to send, repeatable or comma-separated (${EVENTS.join(", ")}; default the final three)`,
      collectEvents,
    )
    .addOption(new Option("--events <events>").hideHelp().argParser(collectEvents))
    .option("--metadata <json>", "a JSON object echoed in every callback", metadataObject)
    .option("--retry-schedule <delays>", "the watches' own delays between attempts, e.g. 10s,1m,10m (or none)")
    .option("--include-existing", "also announce the jobs already finished at the first listing")
    .addHelpText("after", CREATE_EXAMPLES)
    .action(async (o: CreateOptions) => show(o, await tenantClient(ctx, o).createSubscription(createBody(o))));

  const list = withTenantOptions(
    new Command("list")
      .description("subscriptions, newest first (one page, or every page with --all)")
      .addOption(new Option("--status <status>", "only subscriptions in this status").choices(SUBSCRIPTION_STATUSES))
      .option("--limit <n>", "page size, 1-200 (default 50)", wholeNumber(1, 200))
      .option("--cursor <cursor>", "the page after this cursor (printed under a page that has more)")
      .addOption(new Option("--all", "every page").conflicts("cursor")),
  ).action(async (o: Common & { status?: SubscriptionStatus; limit?: number; cursor?: string; all?: boolean }) => {
    const client = tenantClient(ctx, o);
    const filters = { status: o.status, limit: o.limit };
    let subscriptions: Subscription[];
    let nextCursor: string | null = null;
    if (o.all) {
      subscriptions = [];
      for await (const s of client.subscriptions(filters)) subscriptions.push(s);
    } else {
      ({ data: subscriptions, nextCursor } = await client.listSubscriptions({ ...filters, cursor: o.cursor }));
    }
    if (o.json) printJson(ctx, subscriptions);
    else print(ctx, subscriptions.length === 0 ? "no subscriptions" : formatSubscriptionTable(subscriptions));
    if (nextCursor) warn(ctx, `more subscriptions: add --cursor ${nextCursor} (or --all)`);
  });

  const get = withTenantOptions(
    new Command("get").description("a subscription with its last listing and error").argument("<subscription_id>"),
  ).action(async (id: string, o: Common) => show(o, await tenantClient(ctx, o).getSubscription(id)));

  const remove = withTenantOptions(
    new Command("delete")
      .description("stop discovery; the subscription's watches finish unless --cancel-watches")
      .argument("<subscription_id>")
      .option("--cancel-watches", "also cancel every watch of the subscription still running (not the jobs at Rendley)"),
  ).action(async (id: string, o: Common & { cancelWatches?: boolean }) => {
    const { subscription, canceledWatches } = await tenantClient(ctx, o).deleteSubscription(id, {
      cancelWatches: o.cancelWatches,
    });
    if (!o.json) return print(ctx, formatSubscription(subscription, { canceledWatches }));
    // stdout is the API's data, as for every command; the count is outside it.
    printJson(ctx, subscription);
    if (o.cancelWatches) warn(ctx, `canceled ${canceledWatches} ${canceledWatches === 1 ? "watch" : "watches"}`);
  });

  return new Command("subscriptions")
    .description("push for Rendley jobs nobody registered: create, list, get and delete subscriptions")
    .addCommand(create)
    .addCommand(list)
    .addCommand(get)
    .addCommand(remove);
}
