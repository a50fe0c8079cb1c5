/** The tenant of single-tenant mode: RENDLEY_API_KEY, RELAY_API_KEY and RELAY_SIGNING_SECRET are its keys. */
export const DEFAULT_TENANT_ID = "ten_default";

/** A disabled tenant's API keys are refused; its registered watches keep being polled and delivered. */
export const TENANT_STATUSES = ["active", "disabled"] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];
