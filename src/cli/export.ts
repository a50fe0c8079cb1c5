import { Command } from "commander";
import { tenantClient, type CliContext, type ConnectionOptions } from "./context.js";
import { withTenantOptions } from "./options.js";
import { argumentBody, costAt, printCost, printStarted, startAt } from "./start.js";
import { watchFields, withWatchFieldOptions, type WatchFieldOptions } from "./watches.js";

type Common = ConnectionOptions & { json?: boolean };

const BODY_HELP = "Rendley's export body: a JSON object, @file to read one from a file, or - to read it from stdin";

/**
 * `export` and `export-cost`: `start export` and `cost export` with the body as an argument (kept from before
 * `start` and `cost` covered every Rendley endpoint).
 */
export function exportCommands(ctx: CliContext): Command[] {
  const start = withWatchFieldOptions(
    withTenantOptions(
      new Command("export").description(
        "start a Rendley export with the tenant's Rendley key and watch its job in one call (as start export)",
      ),
    ),
  )
    .argument("<body>", BODY_HELP)
    .action(async (value: string, o: Common & WatchFieldOptions) => {
      const body = { ...(await argumentBody(ctx, value)), ...watchFields(o) };
      printStarted(ctx, await startAt(tenantClient(ctx, o), { kind: "export" }, body, o.idempotencyKey), o.json);
    });

  const cost = withTenantOptions(
    new Command("export-cost").description("Rendley's price for an export, as Rendley answers it (as cost export)"),
  )
    .argument("<body>", BODY_HELP)
    .action(async (value: string, o: Common) => {
      printCost(ctx, await costAt(tenantClient(ctx, o), { kind: "export" }, await argumentBody(ctx, value)));
    });

  return [start, cost];
}
