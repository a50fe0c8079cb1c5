import { Command, InvalidArgumentError, Option } from "commander";
import { WATCH_STATUSES, type CreateWatchInput, type JobEvent, type WatchStatus } from "../client/index.js";
import { print, printJson, tenantClient, warn, type CliContext, type ConnectionOptions } from "./context.js";
import { formatWatch, formatWatchTable } from "./format-watch.js";
import { collectEvents, EVENTS, idempotencyKey, metadataObject, wholeNumber, withTenantOptions } from "./options.js";

type Common = ConnectionOptions & { json?: boolean };

function status(value: string): WatchStatus {
  if (!(WATCH_STATUSES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${WATCH_STATUSES.join(", ")}`);
  return value as WatchStatus;
}

/** What `--callback`, `--event`, `--metadata`, `--retry-schedule` and `--idempotency-key` parse to. */
export interface WatchFieldOptions {
  callback: string;
  event?: JobEvent[];
  metadata?: object;
  retrySchedule?: string;
  idempotencyKey?: string;
}

/** The options of a command that registers a watch (`watch`, `export`). */
export function withWatchFieldOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--callback <url>", "where the relay POSTs the callbacks")
    .option("--event <event>", `an event to subscribe to, repeatable or comma-separated (${EVENTS.join(", ")})`, collectEvents)
    .option("--metadata <json>", "a JSON object echoed in every callback", metadataObject)
    .option("--retry-schedule <delays>", "the watch's own delays between attempts, e.g. 10s,1m,10m (or none)")
    .option("--idempotency-key <key>", "repeating it with the same body returns the same watch", idempotencyKey);
}

/** The API's watch fields from those options. */
export function watchFields(o: WatchFieldOptions): Omit<CreateWatchInput, "job_id"> {
  return {
    callback_url: o.callback,
    ...(o.event ? { events: [...new Set(o.event)] } : {}),
    ...(o.metadata ? { metadata: o.metadata as Record<string, unknown> } : {}),
    ...(o.retrySchedule !== undefined ? { retry_schedule: o.retrySchedule } : {}),
  };
}

type ListOptions = { status?: WatchStatus; job?: string; subscription?: string; limit?: number; cursor?: string; all?: boolean };

/** The watch commands: watch, get, list, cancel, redeliver. */
export function watchCommands(ctx: CliContext): Command[] {
  const watch = withWatchFieldOptions(
    withTenantOptions(new Command("watch").description("watch a Rendley job and get a signed callback when it changes state")),
  )
    .argument("<job_id>", "the Rendley job id")
    .action(async (jobId: string, o: Common & WatchFieldOptions) => {
      const created = await tenantClient(ctx, o).watch(
        { job_id: jobId, ...watchFields(o) },
        { idempotencyKey: o.idempotencyKey },
      );
      if (o.json) printJson(ctx, created);
      else print(ctx, formatWatch(created));
    });

  const get = withTenantOptions(
    new Command("get").description("a watch with its job, deliveries and every attempt").argument("<watch_id>"),
  ).action(async (id: string, o: Common) => {
    const w = await tenantClient(ctx, o).getWatch(id);
    if (o.json) printJson(ctx, w);
    else print(ctx, formatWatch(w));
  });

  const list = withTenantOptions(
    new Command("list")
      .description("watches, newest first (one page, or every page with --all)")
      .option("--status <status>", `only watches in this status (${WATCH_STATUSES.join(", ")})`, status)
      .option("--job <job_id>", "only watches of this job")
      .option("--subscription <subscription_id>", "only the watches this subscription made")
      .option("--limit <n>", "page size, 1-200 (default 50)", wholeNumber(1, 200))
      .option("--cursor <cursor>", "the page after this cursor (printed under a page that has more)")
      .addOption(new Option("--all", "every page").conflicts("cursor")),
  ).action(async (o: Common & ListOptions) => {
    const client = tenantClient(ctx, o);
    const filters = { status: o.status, jobId: o.job, subscriptionId: o.subscription, limit: o.limit };
    let watches;
    let nextCursor: string | null = null;
    if (o.all) {
      watches = [];
      for await (const w of client.watches(filters)) watches.push(w);
    } else {
      ({ data: watches, nextCursor } = await client.listWatches({ ...filters, cursor: o.cursor }));
    }
    if (o.json) printJson(ctx, watches);
    else print(ctx, watches.length === 0 ? "no watches" : formatWatchTable(watches));
    if (nextCursor) warn(ctx, `more watches: add --cursor ${nextCursor} (or --all)`);
  });

  const cancel = withTenantOptions(
    new Command("cancel")
      .description("stop watching: no more polls or callbacks")
      .argument("<watch_id>")
      .option("--cancel-job", "also cancel the job at Rendley"),
  ).action(async (id: string, o: Common & { cancelJob?: boolean }) => {
    const w = await tenantClient(ctx, o).cancelWatch(id, { cancelJob: o.cancelJob });
    if (o.json) printJson(ctx, w);
    else print(ctx, formatWatch(w, { attempts: false }));
  });

  const redeliver = withTenantOptions(
    new Command("redeliver")
      .description("send the watch's latest event again (same webhook-id) as a new series of attempts")
      .argument("<watch_id>"),
  ).action(async (id: string, o: Common) => {
    const w = await tenantClient(ctx, o).redeliver(id);
    if (o.json) printJson(ctx, w);
    else print(ctx, formatWatch(w, { attempts: false }));
  });

  return [watch, get, list, cancel, redeliver];
}
