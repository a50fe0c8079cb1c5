import { createRoute, z } from "@hono/zod-openapi";
import { createApiKey, listApiKeys, revokeApiKey } from "../../db/queries/api-keys.js";
import {
  createTenant,
  getTenant,
  listTenants,
  newTenantId,
  setTenantRendleyKey,
  setTenantStatus,
} from "../../db/queries/tenants.js";
import type { Deps } from "../../deps.js";
import { TENANT_STATUSES } from "../../domain/tenant.js";
import { AppError, NotFoundError } from "../../errors.js";
import { toApiKeyView, toNewApiKeyView, toTenantView } from "../admin-views.js";
import { emptyJsonMeansDefaults } from "../empty-json.js";
import { createRouter } from "../router.js";
import { ErrorSchema } from "../schemas.js";

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
const security = [{ adminKey: [] }];
const tags = ["admin"];
const errors = {
  400: json(ErrorSchema, "Invalid request (validation_failed, invalid_json)"),
  401: json(ErrorSchema, "Missing or wrong RELAY_ADMIN_KEY (unauthorized)"),
};
const notFound = { 404: json(ErrorSchema, "No such tenant or key (not_found)") };

const TenantSchema = z
  .object({
    id: z.string().openapi({ example: "ten_01m8dpcqe94bq4cd4fjdc6t9x2" }),
    name: z.string(),
    status: z.enum(TENANT_STATUSES),
    rendley_key_set: z.boolean().openapi({ description: "Whether a Rendley key is stored (it is never returned)." }),
    rendley_key_updated_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    disabled_at: z.string().nullable(),
  })
  .openapi("Tenant");

const ApiKeySchema = z
  .object({
    id: z.string().openapi({ example: "key_01m8dpcqe94bq4cd4fjdc6t9x2" }),
    prefix: z.string().nullable().openapi({ example: "rrk_AbCd…" }),
    label: z.string().nullable(),
    source: z.string().openapi({ description: "env, generated (first start) or admin" }),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi("ApiKey");

const NewApiKeySchema = ApiKeySchema.extend({
  key: z.string().openapi({ description: "The key itself: shown this once, stored only as a SHA-256 hash." }),
}).openapi("NewApiKey");

/** A Rendley key as accepted: printable, no spaces, of a sane length. */
const RendleyKey = z.string().regex(/^[\x21-\x7e]{8,512}$/, "8 to 512 printable characters without spaces");
const TenantId = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

const routes = {
  create: createRoute({
    method: "post",
    path: "/v1/admin/tenants",
    tags,
    security,
    summary: "Create a tenant with its first API key (shown once), its signing secret and optionally its Rendley key",
    request: {
      body: {
        content: {
          "application/json": {
            schema: z
              .strictObject({ name: z.string().trim().min(1).max(100), rendley_api_key: RendleyKey.optional() })
              .openapi("CreateTenant"),
          },
        },
        required: true,
      },
    },
    responses: {
      201: json(z.object({ data: z.object({ tenant: TenantSchema, api_key: NewApiKeySchema }) }), "Created"),
      ...errors,
    },
  }),
  list: createRoute({
    method: "get",
    path: "/v1/admin/tenants",
    tags,
    security,
    summary: "Every tenant",
    responses: { 200: json(z.object({ data: z.array(TenantSchema) }), "Tenants, oldest first"), ...errors },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/admin/tenants/{id}",
    tags,
    security,
    summary: "One tenant",
    request: { params: TenantId },
    responses: { 200: json(z.object({ data: TenantSchema }), "The tenant"), ...errors, ...notFound },
  }),
  disable: createRoute({
    method: "post",
    path: "/v1/admin/tenants/{id}/disable",
    tags,
    security,
    summary: "Disable a tenant: its API keys are refused (403); watches already registered still finish",
    request: { params: TenantId },
    responses: { 200: json(z.object({ data: TenantSchema }), "Disabled"), ...errors, ...notFound },
  }),
  enable: createRoute({
    method: "post",
    path: "/v1/admin/tenants/{id}/enable",
    tags,
    security,
    summary: "Enable a disabled tenant again",
    request: { params: TenantId },
    responses: { 200: json(z.object({ data: TenantSchema }), "Enabled"), ...errors, ...notFound },
  }),
  setRendleyKey: createRoute({
    method: "put",
    path: "/v1/admin/tenants/{id}/rendley-key",
    tags,
    security,
    summary: "Set the tenant's Rendley API key (stored encrypted, never returned)",
    request: {
      params: TenantId,
      body: {
        content: { "application/json": { schema: z.strictObject({ rendley_api_key: RendleyKey }).openapi("SetRendleyKey") } },
        required: true,
      },
    },
    responses: { 200: json(z.object({ data: TenantSchema }), "Stored"), ...errors, ...notFound },
  }),
  createKey: createRoute({
    method: "post",
    path: "/v1/admin/tenants/{id}/api-keys",
    tags,
    security,
    summary: "Create another API key for the tenant (shown once); several can be active, for rotation",
    middleware: emptyJsonMeansDefaults,
    request: {
      params: TenantId,
      body: {
        content: { "application/json": { schema: z.strictObject({ label: z.string().trim().min(1).max(100).optional() }) } },
        required: false,
      },
    },
    responses: { 201: json(z.object({ data: NewApiKeySchema }), "Created"), ...errors, ...notFound },
  }),
  listKeys: createRoute({
    method: "get",
    path: "/v1/admin/tenants/{id}/api-keys",
    tags,
    security,
    summary: "The tenant's API keys (prefixes only), newest first",
    request: { params: TenantId },
    responses: { 200: json(z.object({ data: z.array(ApiKeySchema) }), "Keys"), ...errors, ...notFound },
  }),
  revokeKey: createRoute({
    method: "delete",
    path: "/v1/admin/tenants/{id}/api-keys/{key_id}",
    tags,
    security,
    summary: "Revoke one API key: refused at once by this process, within 30 s by the others",
    request: {
      params: TenantId.extend({
        key_id: z
          .string()
          .max(64)
          .openapi({ param: { name: "key_id", in: "path" } }),
      }),
    },
    responses: { 200: json(z.object({ data: ApiKeySchema }), "Revoked"), ...errors, ...notFound },
  }),
};

/** None */
export type AdminDeps = Pick<Deps, "db" | "clock" | "random" | "logger" | "secretBox">;

/**
 * The admin API (RELAY_ADMIN_KEY): tenants, their API keys and their Rendley keys.
 * @param hooks.onTenantChanged called after a change to a tenant's keys or status (drops cached lookups)
 */
export function adminRoutes(deps: AdminDeps, hooks: { onTenantChanged: (tenantId: string) => void }) {
  const { db, clock, random } = deps;
  const box = () => {
    if (!deps.secretBox) throw new AppError("internal_error", 500, "RELAY_ENCRYPTION_KEY is not set");
    return deps.secretBox;
  };
  const mustExist = async (id: string) => {
    const tenant = await getTenant(db, id);
    if (!tenant) throw new NotFoundError("tenant");
    return tenant;
  };
  const app = createRouter();

  app.openapi(routes.create, async (c) => {
    const body = c.req.valid("json");
    const now = clock.now();
    const id = newTenantId(random, now);
    const { tenant, apiKey } = await createTenant(db, {
      id,
      name: body.name,
      rendleyKeyCiphertext: body.rendley_api_key ? box().seal(body.rendley_api_key, id) : null,
      random,
      now,
    });
    deps.logger.info({ component: "admin", tenantId: tenant.id }, "tenant created");
    return c.json({ data: { tenant: toTenantView(tenant), api_key: toNewApiKeyView(apiKey) } }, 201);
  });

  app.openapi(routes.list, async (c) => c.json({ data: (await listTenants(db)).map(toTenantView) }, 200));

  app.openapi(routes.get, async (c) => c.json({ data: toTenantView(await mustExist(c.req.valid("param").id)) }, 200));

  for (const [route, status] of [
    [routes.disable, "disabled"],
    [routes.enable, "active"],
  ] as const) {
    app.openapi(route, async (c) => {
      const { id } = c.req.valid("param");
      const tenant = await setTenantStatus(db, id, status, clock.now());
      if (!tenant) throw new NotFoundError("tenant");
      hooks.onTenantChanged(id);
      deps.logger.info({ component: "admin", tenantId: id, status }, "tenant status changed");
      return c.json({ data: toTenantView(tenant) }, 200);
    });
  }

  app.openapi(routes.setRendleyKey, async (c) => {
    const { id } = c.req.valid("param");
    const tenant = await setTenantRendleyKey(db, {
      id,
      rendleyKeyCiphertext: box().seal(c.req.valid("json").rendley_api_key, id),
      now: clock.now(),
    });
    if (!tenant) throw new NotFoundError("tenant");
    hooks.onTenantChanged(id);
    deps.logger.info({ component: "admin", tenantId: id }, "tenant Rendley key set");
    return c.json({ data: toTenantView(tenant) }, 200);
  });

  app.openapi(routes.createKey, async (c) => {
    const { id } = c.req.valid("param");
    await mustExist(id);
    const key = await createApiKey(db, { tenantId: id, label: c.req.valid("json").label ?? null, random, now: clock.now() });
    deps.logger.info({ component: "admin", tenantId: id, keyId: key.id }, "API key created");
    return c.json({ data: toNewApiKeyView(key) }, 201);
  });

  app.openapi(routes.listKeys, async (c) => {
    const { id } = c.req.valid("param");
    await mustExist(id);
    return c.json({ data: (await listApiKeys(db, id)).map(toApiKeyView) }, 200);
  });

  app.openapi(routes.revokeKey, async (c) => {
    const { id, key_id } = c.req.valid("param");
    const key = await revokeApiKey(db, id, key_id, clock.now());
    if (!key) throw new NotFoundError("API key");
    hooks.onTenantChanged(id);
    deps.logger.info({ component: "admin", tenantId: id, keyId: key_id }, "API key revoked");
    return c.json({ data: toApiKeyView(key) }, 200);
  });

  return app;
}
