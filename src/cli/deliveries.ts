import { Command } from "commander";
import { print, printJson, tenantClient, type CliContext, type ConnectionOptions } from "./context.js";
import { timestamp, wholeNumber, withTenantOptions } from "./options.js";
import { clean, formatFields, formatTable, time } from "./table.js";

type Common = ConnectionOptions & { json?: boolean };

/** The signing secret and delivery commands: secret, secret rotate, recover, origins. */
export function deliveryCommands(ctx: CliContext): Command[] {
  const secret = withTenantOptions(new Command("secret").description("the secret callbacks are signed with (whsec_…)")).action(
    async (o: Common) => {
      const s = await tenantClient(ctx, o).getSigningSecret();
      if (o.json) printJson(ctx, s);
      else
        print(
          ctx,
          formatFields([
            ["secret", s.secret],
            ["previous expires", time(s.previous_expires_at)],
          ]),
        );
    },
  );
  secret.addCommand(
    withTenantOptions(
      new Command("rotate")
        .description("start signing with a new secret; the previous ones keep signing for a grace period")
        .option(
          "--grace-period-s <seconds>",
          "how long the previous secrets keep signing (default 86400, at most 604800)",
          wholeNumber(0, 604_800),
        ),
    ).action(async (o: Common & { gracePeriodS?: number }) => {
      const s = await tenantClient(ctx, o).rotateSigningSecret({ gracePeriodS: o.gracePeriodS });
      if (o.json) printJson(ctx, s);
      else
        print(
          ctx,
          formatFields([
            ["secret", s.secret],
            ["previous expires", time(s.previous_expires_at)],
          ]),
        );
    }),
  );

  const recover = withTenantOptions(
    new Command("recover")
      .description("send again every failed delivery whose last attempt falls in [since, until)")
      .requiredOption("--since <iso>", "start of the window, e.g. 2026-11-27T00:00:00Z", timestamp)
      .option("--until <iso>", "end of the window (default now)", timestamp),
  ).action(async (o: Common & { since: string; until?: string }) => {
    const result = await tenantClient(ctx, o).recoverDeliveries({ since: o.since, until: o.until });
    if (o.json) printJson(ctx, result);
    else print(ctx, `queued ${result.queued} ${result.queued === 1 ? "delivery" : "deliveries"} again`);
  });

  const origins = withTenantOptions(
    new Command("origins").description("the circuit breaker of every receiver origin that has had a failure"),
  ).action(async (o: Common) => {
    const list = await tenantClient(ctx, o).listOrigins();
    if (o.json) return printJson(ctx, list);
    if (list.length === 0) return print(ctx, "no origins");
    print(
      ctx,
      formatTable(
        ["origin", "state", "failures", "open until", "last success", "last failure"],
        list.map((r) => [
          clean(r.origin),
          r.state,
          String(r.consecutive_failures),
          time(r.open_until),
          time(r.last_success_at),
          time(r.last_failure_at),
        ]),
      ),
    );
  });

  return [secret, recover, origins];
}
