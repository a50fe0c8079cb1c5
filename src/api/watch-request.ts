import { DISCOVERY_KEY_PREFIX } from "../domain/subscription.js";
import type { Deps } from "../deps.js";
import { AppError, ConflictError, ValidationError } from "../errors.js";
import { checkCallbackUrl } from "../security/callback-url.js";

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Refuses an `Idempotency-Key` header that is not 1–255 printable characters without spaces. */
export function assertIdempotencyKey(key: string | undefined): void {
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw new ValidationError("Idempotency-Key: 1 to 255 printable characters without spaces", [
      { path: "Idempotency-Key", message: "1 to 255 printable characters without spaces" },
    ]);
  }
  // The keys of watches subscriptions make: an app's key must not take (or block) one of them.
  if (key?.startsWith(DISCOVERY_KEY_PREFIX)) {
    throw new ValidationError(`Idempotency-Key: keys starting with "${DISCOVERY_KEY_PREFIX}" are the relay's own`, [
      { path: "Idempotency-Key", message: `must not start with "${DISCOVERY_KEY_PREFIX}"` },
    ]);
  }
}

/** An `Idempotency-Key` already used with another request body. */
export function idempotencyConflict(): ConflictError {
  return new ConflictError("idempotency_conflict", "this Idempotency-Key was already used with a different request body");
}

/**
 * The callback URL as it will be stored, or a 400 with the reason (private address, scheme, RELAY_REQUIRE_HTTPS…).
 * @throws AppError callback_url_forbidden / validation codes from checkCallbackUrl
 */
export async function checkedCallbackUrl(deps: Pick<Deps, "config" | "resolver">, url: string): Promise<URL> {
  const check = await checkCallbackUrl(url, {
    allowlist: deps.config.callbackAllowlist,
    resolver: deps.resolver,
    requireHttps: deps.config.requireHttps,
  });
  if (!check.ok)
    throw new AppError(check.code, 400, `callback_url: ${check.message}`, [{ path: "callback_url", message: check.message }]);
  return check.url;
}
