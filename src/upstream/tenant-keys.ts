import { DEFAULT_TENANT_ID } from "../domain/tenant.js";
import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import type { SecretBox } from "../security/secret-box.js";
import { errorForLog } from "../lib/error-for-log.js";

/** Decrypted keys are kept this long in memory (an admin change in another process takes effect within it). */
const CACHE_MS = 30_000;

export interface TenantKeys {
  /** The Rendley key polls of this tenant use; undefined when it has none. */
  keyFor(tenantId: string): Promise<string | undefined>;
  /** Drops a cached key (after the admin API changed it). */
  invalidate(tenantId?: string): void;
}

/**
 * Each tenant polls Rendley with its own key: the one set through the admin API (decrypted from the
 * database), or, for the default tenant, RENDLEY_API_KEY from the environment.
 * @param options.loadCiphertext reads a tenant's stored (encrypted) key; null when it has none
 */
export function createTenantKeys(options: {
  loadCiphertext: (tenantId: string) => Promise<string | null>;
  clock: Clock;
  box: SecretBox | undefined;
  envKey: string | undefined;
  logger: Logger;
}): TenantKeys {
  const cache = new Map<string, { key: string | undefined; at: number }>();
  return {
    async keyFor(tenantId) {
      const now = options.clock.now().getTime();
      const hit = cache.get(tenantId);
      if (hit && now - hit.at < CACHE_MS) return hit.key;
      const ciphertext = await options.loadCiphertext(tenantId);
      let key = tenantId === DEFAULT_TENANT_ID ? options.envKey : undefined;
      if (ciphertext && options.box) {
        try {
          key = options.box.open(ciphertext, tenantId);
        } catch (err) {
          options.logger.error({ tenantId, err: errorForLog(err) }, "cannot decrypt the tenant's Rendley key");
        }
      }
      cache.set(tenantId, { key, at: now });
      return key;
    },
    invalidate(tenantId) {
      if (tenantId) cache.delete(tenantId);
      else cache.clear();
    },
  };
}
