import type { MiddlewareHandler } from "hono";
import { AppError } from "../errors.js";
import { sha256Hex } from "../lib/hash.js";

export type ApiEnv = { Variables: { tenantId: string; requestId: string } };

/** Successful key lookups are remembered this long (revocation takes effect within it). */
const CACHE_MS = 30_000;
const CACHE_MAX = 10_000;

/**
 * `Authorization: Bearer <key>` on every /v1 route. Keys are looked up by SHA-256 hash (the database
 * never holds a key itself); the tenant the key belongs to scopes everything the request touches.
 * @param findTenant resolves a key to its tenant (undefined: unknown or revoked)
 */
export function requireApiKey(findTenant: (apiKey: string) => Promise<string | undefined>): MiddlewareHandler<ApiEnv> {
  const cache = new Map<string, { tenantId: string; at: number }>();
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer[ ]+([\x21-\x7e]{1,512})$/i.exec(header.trim());
    if (!match?.[1]) {
      c.header("www-authenticate", 'Bearer realm="rendley-relay"');
      throw new AppError("unauthorized", 401, "send the relay API key as `Authorization: Bearer <key>`");
    }
    const key = match[1];
    const hash = sha256Hex(key);
    const cached = cache.get(hash);
    let tenantId = cached && Date.now() - cached.at < CACHE_MS ? cached.tenantId : undefined;
    if (!tenantId) {
      tenantId = await findTenant(key);
      if (!tenantId) {
        c.header("www-authenticate", 'Bearer realm="rendley-relay", error="invalid_token"');
        throw new AppError("unauthorized", 401, "the API key is not valid");
      }
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(hash, { tenantId, at: Date.now() });
    }
    c.set("tenantId", tenantId);
    await next();
  };
}
