import { Command } from "commander";
import type { ApiKey, NewApiKey, Tenant } from "../client/index.js";
import { adminClient, print, printJson, secretArgument, warn, type CliContext, type ConnectionOptions } from "./context.js";
import { withAdminOptions } from "./options.js";
import { clean, formatFields, formatTable, time } from "./table.js";

type Common = ConnectionOptions & { json?: boolean };

const SHOWN_ONCE = "warning: this API key is shown once; store it now (the relay keeps only its hash)";

function tenantFields(t: Tenant): Array<[string, string]> {
  return [
    ["tenant", t.id],
    ["name", clean(t.name)],
    ["status", t.status],
    ["rendley key", t.rendley_key_set ? `set ${time(t.rendley_key_updated_at)}` : "not set"],
    ["created", time(t.created_at)],
    ["updated", time(t.updated_at)],
    ["disabled", time(t.disabled_at)],
  ];
}

function keyFields(k: ApiKey | NewApiKey): Array<[string, string]> {
  return [
    ["key id", k.id],
    ...("key" in k ? [["api key", k.key] as [string, string]] : []),
    ["prefix", k.prefix ?? "-"],
    ["label", clean(k.label)],
    ["source", k.source],
    ["created", time(k.created_at)],
    ["revoked", time(k.revoked_at)],
  ];
}

/** `admin tenants …` and `admin keys …` (RELAY_ADMIN_KEY). */
export function adminCommand(ctx: CliContext): Command {
  const showTenant = (o: Common, t: Tenant) => (o.json ? printJson(ctx, t) : print(ctx, formatFields(tenantFields(t))));

  const tenants = new Command("tenants").description("create, list, disable and enable tenants");
  tenants.addCommand(
    withAdminOptions(
      new Command("create")
        .description("create a tenant with its first API key (shown once) and its signing secret")
        .requiredOption("--name <name>", "the tenant's name")
        .option("--rendley-key <key>", "the tenant's Rendley API key (`-` reads it from stdin)"),
    ).action(async (o: Common & { name: string; rendleyKey?: string }) => {
      const rendleyApiKey = o.rendleyKey === undefined ? undefined : await secretArgument(ctx, o.rendleyKey, "Rendley key");
      const created = await adminClient(ctx, o).createTenant({ name: o.name, rendleyApiKey });
      warn(ctx, SHOWN_ONCE);
      if (o.json) return printJson(ctx, created);
      print(ctx, `${formatFields(tenantFields(created.tenant))}\n\n${formatFields(keyFields(created.api_key))}`);
    }),
  );
  tenants.addCommand(
    withAdminOptions(new Command("list").description("every tenant, oldest first")).action(async (o: Common) => {
      const list = await adminClient(ctx, o).listTenants();
      if (o.json) return printJson(ctx, list);
      if (list.length === 0) return print(ctx, "no tenants");
      print(
        ctx,
        formatTable(
          ["id", "name", "status", "rendley key", "created", "disabled"],
          list.map((t) => [
            t.id,
            clean(t.name, 40),
            t.status,
            t.rendley_key_set ? "set" : "-",
            time(t.created_at),
            time(t.disabled_at),
          ]),
        ),
      );
    }),
  );
  tenants.addCommand(
    withAdminOptions(new Command("get").description("one tenant").argument("<tenant_id>")).action(async (id: string, o: Common) =>
      showTenant(o, await adminClient(ctx, o).getTenant(id)),
    ),
  );
  tenants.addCommand(
    withAdminOptions(
      new Command("disable").description("refuse the tenant's API keys (403); its watches still finish").argument("<tenant_id>"),
    ).action(async (id: string, o: Common) => showTenant(o, await adminClient(ctx, o).disableTenant(id))),
  );
  tenants.addCommand(
    withAdminOptions(new Command("enable").description("enable a disabled tenant again").argument("<tenant_id>")).action(
      async (id: string, o: Common) => showTenant(o, await adminClient(ctx, o).enableTenant(id)),
    ),
  );
  tenants.addCommand(
    withAdminOptions(
      new Command("set-rendley-key")
        .description("set the tenant's Rendley API key (stored encrypted, never shown)")
        .argument("<tenant_id>")
        .requiredOption("--rendley-key <key>", "the key, or `-` to read it from stdin (keeps it out of shell history)"),
    ).action(async (id: string, o: Common & { rendleyKey: string }) => {
      const key = await secretArgument(ctx, o.rendleyKey, "Rendley key");
      showTenant(o, await adminClient(ctx, o).setRendleyKey(id, key));
    }),
  );

  const keys = new Command("keys").description("create, list and revoke a tenant's API keys");
  keys.addCommand(
    withAdminOptions(
      new Command("create")
        .description("another API key for the tenant (shown once); several can be active, for rotation")
        .argument("<tenant_id>")
        .option("--label <label>", "what the key is for"),
    ).action(async (tenantId: string, o: Common & { label?: string }) => {
      const key = await adminClient(ctx, o).createApiKey(tenantId, { label: o.label });
      warn(ctx, SHOWN_ONCE);
      if (o.json) return printJson(ctx, key);
      print(ctx, formatFields(keyFields(key)));
    }),
  );
  keys.addCommand(
    withAdminOptions(
      new Command("list").description("the tenant's API keys (prefixes only), newest first").argument("<tenant_id>"),
    ).action(async (tenantId: string, o: Common) => {
      const list = await adminClient(ctx, o).listApiKeys(tenantId);
      if (o.json) return printJson(ctx, list);
      if (list.length === 0) return print(ctx, "no API keys");
      print(
        ctx,
        formatTable(
          ["id", "prefix", "label", "source", "created", "revoked"],
          list.map((k) => [k.id, k.prefix ?? "-", clean(k.label, 40), k.source, time(k.created_at), time(k.revoked_at)]),
        ),
      );
    }),
  );
  keys.addCommand(
    withAdminOptions(
      new Command("revoke").description("revoke one API key of the tenant").argument("<tenant_id>").argument("<key_id>"),
    ).action(async (tenantId: string, keyId: string, o: Common) => {
      const key = await adminClient(ctx, o).revokeApiKey(tenantId, keyId);
      if (o.json) return printJson(ctx, key);
      print(ctx, formatFields(keyFields(key)));
    }),
  );

  return new Command("admin")
    .description("manage tenants and their API keys (needs RELAY_ADMIN_KEY)")
    .addCommand(tenants)
    .addCommand(keys);
}
