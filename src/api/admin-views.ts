import type { ApiKeyRecord, CreatedApiKey } from "../db/queries/api-keys.js";
import type { OriginRecord } from "../db/queries/origin-states.js";
import type { TenantRecord } from "../db/queries/tenants.js";

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** A tenant as the admin API shows it: never its Rendley key, only whether one is set. */
export function toTenantView(t: TenantRecord) {
  return {
    id: t.id,
    name: t.name,
    status: t.status,
    rendley_key_set: t.rendleyKeySet,
    rendley_key_updated_at: iso(t.rendleyKeyUpdatedAt),
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
    disabled_at: iso(t.disabledAt),
  };
}

/** An API key as the admin API lists it: its prefix and label, never the key. */
export function toApiKeyView(k: ApiKeyRecord) {
  return {
    id: k.id,
    prefix: k.prefix,
    label: k.label,
    source: k.source,
    created_at: k.createdAt.toISOString(),
    revoked_at: iso(k.revokedAt),
  };
}

/** A key just created: the only answer that carries `key` itself. */
export function toNewApiKeyView(k: CreatedApiKey) {
  return { ...toApiKeyView(k), key: k.key };
}

/** A callback origin's circuit breaker as GET /v1/origins shows it. */
export function toOriginView(o: OriginRecord) {
  return {
    origin: o.origin,
    state: o.state,
    consecutive_failures: o.consecutiveFailures,
    opened_at: iso(o.openedAt),
    open_until: iso(o.openUntil),
    last_success_at: iso(o.lastSuccessAt),
    last_failure_at: iso(o.lastFailureAt),
    updated_at: o.updatedAt.toISOString(),
  };
}
