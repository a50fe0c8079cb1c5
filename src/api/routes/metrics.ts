import { createRoute, z } from "@hono/zod-openapi";
import type { Deps } from "../../deps.js";
import { AppError } from "../../errors.js";
import { safeEqual } from "../../lib/hash.js";
import { createRouter } from "../router.js";

const BEARER = /^Bearer[ ]+([\x21-\x7e]{1,512})$/i;

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["operations"],
  summary: "Prometheus metrics (text exposition format)",
  description:
    "Polls, upstream requests, callback attempts and deliveries, notify latency, watches by status, the due backlog, " +
    "scheduling lag, circuit breakers and process metrics, all prefixed `rendley_relay_` (process metrics excepted). " +
    "With RELAY_METRICS_TOKEN set it needs `Authorization: Bearer <token>`; without, it is open (it carries no secrets).",
  responses: {
    200: {
      content: {
        "text/plain": { schema: z.string().openapi({ example: 'rendley_relay_polls_total{outcome="unchanged"} 42\n' }) },
      },
      description: "Every metric of this relay process",
    },
    401: { description: "RELAY_METRICS_TOKEN is set and the request did not send it (unauthorized)" },
  },
});

/**
 * `GET /metrics`, outside /v1 (no API key, no rate limit): Prometheus scrapes it. Behind RELAY_METRICS_TOKEN
 * when set (compared in constant time).
 */
export function metricsRoutes(deps: Pick<Deps, "config" | "metrics">) {
  const app = createRouter();
  const token = deps.config.metricsToken;
  app.openapi(metricsRoute, async (c) => {
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
