import { Command } from "commander";
import { readFile } from "node:fs/promises";
import { print, printJson, tenantClient, type CliContext, type ConnectionOptions } from "./context.js";
import { formatWatch } from "./format-watch.js";
import { parseJsonObject, withTenantOptions } from "./options.js";
import { UsageError } from "./usage-error.js";
import { watchFields, withWatchFieldOptions, type WatchFieldOptions } from "./watches.js";

type Common = ConnectionOptions & { json?: boolean };

const BODY_HELP = "Rendley's export body: a JSON object, @file to read one from a file, or - to read it from stdin";

/** Rendley's export body from the argument: inline JSON, `@path`, or `-` (stdin). */
async function rendleyBody(ctx: CliContext, value: string): Promise<Record<string, unknown>> {
  let text = value;
  if (value === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
    text = Buffer.concat(chunks).toString("utf8");
  } else if (value.startsWith("@")) {
    try {
      text = await readFile(value.slice(1), "utf8");
    } catch (err) {
      throw new UsageError(`<body>: cannot read ${value.slice(1)} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
  }
  const parsed = parseJsonObject(text);
  if (!parsed) throw new UsageError('<body>: expected a JSON object, e.g. \'{"project_id":"prj_123"}\'');
  return parsed;
}

/** `export` (start a Rendley export and watch its job) and `export-cost` (Rendley's price for it). */
export function exportCommands(ctx: CliContext): Command[] {
  const start = withWatchFieldOptions(
    withTenantOptions(
      new Command("export").description("start a Rendley export with the tenant's Rendley key and watch its job in one call"),
    ),
  )
    .argument("<body>", BODY_HELP)
    .action(async (value: string, o: Common & WatchFieldOptions) => {
      const body = { ...(await rendleyBody(ctx, value)), ...watchFields(o) };
      const started = await tenantClient(ctx, o).startExport(body, { idempotencyKey: o.idempotencyKey });
      if (o.json) printJson(ctx, started);
      else print(ctx, formatWatch(started.watch));
    });

  const cost = withTenantOptions(
    new Command("export-cost").description("Rendley's price for an export, as Rendley answers it (nothing starts)"),
  )
    .argument("<body>", BODY_HELP)
    .action(async (value: string, o: Common) => {
      printJson(ctx, await tenantClient(ctx, o).exportCost(await rendleyBody(ctx, value)));
    });

  return [start, cost];
}
