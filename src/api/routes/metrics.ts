import { Hono } from "hono";
import type { Deps } from "../../deps.js";
import { AppError } from "../../errors.js";
import { safeEqual } from "../../lib/hash.js";

const BEARER = /^Bearer[ ]+([\x21-\x7e]{1,512})$/i;

/**
 * `GET /metrics`: the Prometheus text format, outside /v1 (no API key, no rate limit) and outside the OpenAPI
 * document (an operations endpoint for scrapers, listed in README's Operations). Behind RELAY_METRICS_TOKEN
 * when set, compared in constant time; without it the endpoint is open, as it carries no secrets.
 */
export function metricsRoutes(deps: Pick<Deps, "config" | "metrics">) {
  const app = new Hono();
  const token = deps.config.metricsToken;
  app.get("/metrics", async (c) => {
    if (token !== undefined) {
      const sent = BEARER.exec((c.req.header("authorization") ?? "").trim())?.[1];
      if (sent === undefined || !safeEqual(sent, token)) {
        c.header("www-authenticate", 'Bearer realm="rendley-relay-metrics"');
        throw new AppError("unauthorized", 401, "send RELAY_METRICS_TOKEN as `Authorization: Bearer <token>`");
      }
    }
    const text = await deps.metrics.scrape();
    c.header("content-type", deps.metrics.contentType);
    c.header("cache-control", "no-store");
    return c.body(text, 200);
  });
  return app;
}
