/** The API's routes (with their weight in the fuzz), junk paths, methods, and the fixtures ids are drawn from. */

export interface Route {
  method: string;
  template: string;
  body: "watch" | "rotate" | "recover" | "tenant" | "rendley" | "label" | "none";
  auth: "tenant" | "admin" | "none";
  query?: "list" | "cancel";
  weight: number;
}
export const ROUTES: Route[] = [
  { method: "POST", template: "/v1/watches", body: "watch", auth: "tenant", weight: 32 },
  { method: "GET", template: "/v1/watches", body: "none", auth: "tenant", query: "list", weight: 10 },
  { method: "GET", template: "/v1/watches/{id}", body: "none", auth: "tenant", weight: 6 },
  { method: "DELETE", template: "/v1/watches/{id}", body: "none", auth: "tenant", query: "cancel", weight: 4 },
  { method: "POST", template: "/v1/watches/{id}/redeliver", body: "none", auth: "tenant", weight: 3 },
  { method: "GET", template: "/v1/signing-secret", body: "none", auth: "tenant", weight: 1 },
  { method: "POST", template: "/v1/signing-secret/rotate", body: "rotate", auth: "tenant", weight: 3 },
  { method: "POST", template: "/v1/deliveries/recover", body: "recover", auth: "tenant", weight: 4 },
  { method: "GET", template: "/v1/origins", body: "none", auth: "tenant", weight: 1 },
  { method: "POST", template: "/v1/admin/tenants", body: "tenant", auth: "admin", weight: 5 },
  { method: "GET", template: "/v1/admin/tenants", body: "none", auth: "admin", weight: 1 },
  { method: "GET", template: "/v1/admin/tenants/{tid}", body: "none", auth: "admin", weight: 2 },
  { method: "POST", template: "/v1/admin/tenants/{tid}/disable", body: "none", auth: "admin", weight: 1 },
  { method: "POST", template: "/v1/admin/tenants/{tid}/enable", body: "none", auth: "admin", weight: 1 },
  { method: "PUT", template: "/v1/admin/tenants/{tid}/rendley-key", body: "rendley", auth: "admin", weight: 2 },
  { method: "POST", template: "/v1/admin/tenants/{tid}/api-keys", body: "label", auth: "admin", weight: 2 },
  { method: "GET", template: "/v1/admin/tenants/{tid}/api-keys", body: "none", auth: "admin", weight: 1 },
  { method: "DELETE", template: "/v1/admin/tenants/{tid}/api-keys/{kid}", body: "none", auth: "admin", weight: 1 },
  { method: "GET", template: "/healthz", body: "none", auth: "none", weight: 1 },
  { method: "GET", template: "/readyz", body: "none", auth: "none", weight: 1 },
  { method: "GET", template: "/openapi.json", body: "none", auth: "none", weight: 1 },
  { method: "GET", template: "{junk}", body: "none", auth: "tenant", weight: 3 },
];
export const JUNK_PATHS = [
  "/",
  "/v1",
  "/v1/",
  "/v1/watches/",
  "//v1//watches",
  "/V1/WATCHES",
  "/v1/watches/../admin/tenants",
  "/v1/watches/%2e%2e/admin/tenants",
  "/v1/admin",
  "/v1/adminx",
  "/v1/admin/",
  "/v2/watches",
  "/v1/watches;x=1",
  "/v1/watches%2F",
  "/%76%31/watches",
  "/healthz/",
  "/openapi.json/..",
  "/v1/watches/x/y/z",
  "/v1/signing-secret/rotate/",
  "/.env",
  "/v1/deliveries",
];
export const METHODS = [
  "GET",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "HEAD",
  "FOO",
  "PURGE",
  "get",
  "patch",
  "M-SEARCH",
  "PROPFIND",
  "QUERY",
];

export interface Fixtures {
  watchIds: string[];
  foreignWatchId: string;
  tenantBKey: string;
  victimTenantId: string;
  victimKeyId: string;
  cursor: string;
}
