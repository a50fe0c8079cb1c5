import { createTransport, segment } from "./transport.js";
import type { ApiKey, CreatedTenant, NewApiKey, Tenant } from "./types.js";

export interface AdminClientOptions {
  /** `http://127.0.0.1:8080` */
  baseUrl: string;
  /** RELAY_ADMIN_KEY (`Authorization: Bearer …`). */
  adminKey: string;
  /** Defaults to globalThis.fetch; useful for testing. */
  fetch?: typeof fetch | undefined;
  /** Whole-request deadline in ms (default 30000). */
  timeoutMs?: number | undefined;
}

export interface AdminClient {
  /** A tenant with its first API key: `api_key.key` is returned this once. */
  createTenant(input: { name: string; rendleyApiKey?: string | undefined }): Promise<CreatedTenant>;
  listTenants(): Promise<Tenant[]>;
  getTenant(id: string): Promise<Tenant>;
  /** Its API keys are refused (403 tenant_disabled); registered watches still finish. */
  disableTenant(id: string): Promise<Tenant>;
  enableTenant(id: string): Promise<Tenant>;
  /** Stores the tenant's Rendley key (encrypted; never returned). */
  setRendleyKey(id: string, rendleyApiKey: string): Promise<Tenant>;
  /** Another API key for the tenant: `key` is returned this once. */
  createApiKey(tenantId: string, options?: { label?: string | undefined }): Promise<NewApiKey>;
  /** Prefixes only, newest first. */
  listApiKeys(tenantId: string): Promise<ApiKey[]>;
  revokeApiKey(tenantId: string, keyId: string): Promise<ApiKey>;
}

/** A typed client of the admin API (`/v1/admin`, present only when the relay has RELAY_ADMIN_KEY). */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  const call = createTransport({
    baseUrl: options.baseUrl,
    token: options.adminKey,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
  });
  const data = async <T>(spec: Parameters<typeof call>[0]) => (await call<T>(spec)).body.data;
  const tenant = (id: string) => `/v1/admin/tenants/${segment(id)}`;

  return {
    createTenant: (input) =>
      data<CreatedTenant>({
        method: "POST",
        path: "/v1/admin/tenants",
        body: { name: input.name, ...(input.rendleyApiKey === undefined ? {} : { rendley_api_key: input.rendleyApiKey }) },
      }),
    listTenants: () => data<Tenant[]>({ method: "GET", path: "/v1/admin/tenants" }),
    getTenant: (id) => data<Tenant>({ method: "GET", path: tenant(id) }),
    disableTenant: (id) => data<Tenant>({ method: "POST", path: `${tenant(id)}/disable` }),
    enableTenant: (id) => data<Tenant>({ method: "POST", path: `${tenant(id)}/enable` }),
    setRendleyKey: (id, rendleyApiKey) =>
      data<Tenant>({ method: "PUT", path: `${tenant(id)}/rendley-key`, body: { rendley_api_key: rendleyApiKey } }),
    createApiKey: (tenantId, opts = {}) =>
      data<NewApiKey>({
        method: "POST",
        path: `${tenant(tenantId)}/api-keys`,
        body: opts.label === undefined ? {} : { label: opts.label },
      }),
    listApiKeys: (tenantId) => data<ApiKey[]>({ method: "GET", path: `${tenant(tenantId)}/api-keys` }),
    revokeApiKey: (tenantId, keyId) => data<ApiKey>({ method: "DELETE", path: `${tenant(tenantId)}/api-keys/${segment(keyId)}` }),
  };
}
