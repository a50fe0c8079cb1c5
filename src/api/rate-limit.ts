import type { MiddlewareHandler } from "hono";
import { AppError } from "../errors.js";
import type { ApiEnv } from "./auth.js";

const MAX_BUCKETS = 100_000;

/**
 * Token bucket per API key (the `rateKey` the auth middleware sets), per process: `burst` requests at
 * once, refilled at `rps` per second. Over the limit: `429 rate_limited` with `Retry-After` (seconds).
 * Every answer carries `ratelimit-limit` and `ratelimit-remaining`.
 * @param options.now injectable clock in ms (tests)
 */
export function rateLimit(options: { rps: number; burst: number; now?: (() => number) | undefined }): MiddlewareHandler<ApiEnv> {
  const { rps, burst } = options;
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, { tokens: number; at: number }>();
  return async (c, next) => {
    const key = c.get("rateKey");
    const t = now();
    let bucket = buckets.get(key);
    if (bucket) {
      bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * rps);
      bucket.at = t;
      buckets.delete(key); // re-insert: the map's order is least recently used first
    } else {
      if (buckets.size >= MAX_BUCKETS) buckets.delete(buckets.keys().next().value!);
      bucket = { tokens: burst, at: t };
    }
    buckets.set(key, bucket);
    c.header("ratelimit-limit", String(burst));
    if (bucket.tokens < 1) {
      c.header("ratelimit-remaining", "0");
      c.header("retry-after", String(Math.max(1, Math.ceil((1 - bucket.tokens) / rps))));
      throw new AppError("rate_limited", 429, `more than ${rps} requests per second (burst ${burst}) with this key; retry later`);
    }
    bucket.tokens -= 1;
    c.header("ratelimit-remaining", String(Math.floor(bucket.tokens)));
    await next();
  };
}
