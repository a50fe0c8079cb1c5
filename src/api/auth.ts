import type { MiddlewareHandler } from "hono";
import type { KeyOwner } from "../db/queries/find-tenant-by-api-key.js";
import { AppError } from "../errors.js";
import { safeEqual, sha256Hex } from "../lib/hash.js";

export type ApiEnv = { Variables: { tenantId: string; requestId: string; rateKey: string } };

/** Key lookups are remembered this long; revocations and disables made in this process apply at once. */
const CACHE_MS = 30_000;
const CACHE_MAX = 10_000;
const BEARER = /^Bearer[ ]+([\x21-\x7e]{1,512})$/i;

function bearer(header: string | undefined): string {
  const match = BEARER.exec((header ?? "").trim());
  if (!match?.[1]) throw new AppError("unauthorized", 401, "send the key as `Authorization: Bearer <key>`");
  return match[1];
}

/**
 * `Authorization: Bearer <key>` on every tenant route. Keys are looked up by SHA-256 hash (the database
 * never holds a key); the tenant the key belongs to scopes everything the request touches. A disabled
 * tenant's keys get 403.
 * @param find resolves a key hash to its tenant (undefined: unknown or revoked)
 */
export function createKeyAuth(find: (keyHash: string) => Promise<KeyOwner | undefined>) {
  const cache = new Map<string, { owner: KeyOwner; at: number }>();
  const middleware: MiddlewareHandler<ApiEnv> = async (c, next) => {
    let key: string;
    try {
      key = bearer(c.req.header("authorization"));
    } catch (err) {
      c.header("www-authenticate", 'Bearer realm="rendley-relay"');
      throw err;
    }
    const hash = sha256Hex(key);
    const cached = cache.get(hash);
    let owner = cached && Date.now() - cached.at < CACHE_MS ? cached.owner : undefined;
    if (!owner) {
      owner = await find(hash);
      if (!owner) {
        c.header("www-authenticate", 'Bearer realm="rendley-relay", error="invalid_token"');
        throw new AppError("unauthorized", 401, "the API key is not valid");
      }
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(hash, { owner, at: Date.now() });
    }
    if (owner.tenantStatus !== "active") throw new AppError("tenant_disabled", 403, "this tenant is disabled");
    c.set("tenantId", owner.tenantId);
    c.set("rateKey", `key:${hash}`);
    await next();
  };
  return {
    middleware,
    /** Forgets every cached lookup (a key was revoked or a tenant disabled in this process). */
    invalidate: () => cache.clear(),
  };
}

/** `Authorization: Bearer <RELAY_ADMIN_KEY>` on /v1/admin, compared in constant time. */
export function requireAdminKey(adminKey: string): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    let key: string | undefined;
    try {
      key = bearer(c.req.header("authorization"));
    } catch {
      key = undefined;
    }
    if (key === undefined || !safeEqual(key, adminKey)) {
      c.header("www-authenticate", 'Bearer realm="rendley-relay-admin"');
      throw new AppError("unauthorized", 401, "send RELAY_ADMIN_KEY as `Authorization: Bearer <key>`");
    }
    c.set("rateKey", "admin");
    await next();
  };
}
