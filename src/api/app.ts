import { OpenAPIHono } from "@hono/zod-openapi";
import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";
import { findTenantByKeyHash } from "../db/queries/find-tenant-by-api-key.js";
import { dashboardRoutes } from "./dashboard/dashboard-routes.js";
import { limitBody } from "./body-limit.js";
import { createKeyAuth, requireAdminKey, type ApiEnv } from "./auth.js";
import { rateLimit } from "./rate-limit.js";
import { requestId } from "./request-id.js";
import { rejectUnstorableText } from "./storable-text.js";
import { adminRoutes } from "./routes/admin.js";
import { createErrorHandler, errorBody } from "./errors.js";
import { serveOpenApiDocument } from "./openapi-document.js";
import { docsRoutes } from "./routes/docs.js";
import { deliveriesRoutes } from "./routes/deliveries.js";
import { healthRoutes } from "./routes/health.js";
import { metricsRoutes } from "./routes/metrics.js";
import { originsRoutes } from "./routes/origins.js";
import { signingSecretRoutes } from "./routes/signing-secret.js";
import { watchesRoutes } from "./routes/watches.js";
import { exportRoutes } from "./routes/export.js";
import { subscriptionsRoutes } from "./routes/subscriptions.js";
import { aiRoutes } from "./routes/ai.js";
import { agentRoutes } from "./routes/agent.js";

export const MAX_BODY_BYTES = 64 * 1024;

export interface AppHooks {
  /** A watch was registered: poll now rather than at the next tick. */
  onWatchCreated: () => void;
  /** A redelivery was queued: send now. */
  onRedeliver: () => void;
  /** The tenant's signing secrets changed: sign the next callback with the new set. */
  onSigningSecretRotated?: (tenantId: string) => void;
  /** Options for tests: the rate limiter's clock. */
  rateLimitNow?: () => number;
}

/**
 * The HTTP API: /v1 (a tenant's API key), /v1/admin (RELAY_ADMIN_KEY; absent without it), /healthz,
 * /readyz, /openapi.json, /docs. Routes, validation and the OpenAPI document come from the same zod schemas.
 */
export function createApp(deps: Deps, hooks: AppHooks = { onWatchCreated: () => {}, onRedeliver: () => {} }) {
  const logger = deps.logger.child({ component: "api" });
  const app = new OpenAPIHono<ApiEnv>();

  app.use(requestId(logger)); // x-request-id, one log line per request, c.get("requestId") for handlers
  app.onError(createErrorHandler(logger));
  app.notFound((c) => c.json(errorBody("not_found", `no route ${c.req.method} ${c.req.path}`), 404));

  app.use("/v1/*", limitBody(MAX_BODY_BYTES));

  app.use("/v1/*", rejectUnstorableText);
  const keyAuth = createKeyAuth((hash) => findTenantByKeyHash(deps.db, hash));
  const adminAuth = deps.config.adminKey ? requireAdminKey(deps.config.adminKey) : undefined;
  app.use("/v1/*", async (c, next) => {
    if (c.req.path === "/v1/admin" || c.req.path.startsWith("/v1/admin/")) {
      if (!adminAuth) throw new AppError("not_found", 404, "the admin API is off (set RELAY_ADMIN_KEY to turn it on)");
      return adminAuth(c, next);
    }
    return keyAuth.middleware(c, next);
  });
  app.use("/v1/*", rateLimit({ rps: deps.config.rateLimitRps, burst: deps.config.rateLimitBurst, now: hooks.rateLimitNow }));

  app.route("/", healthRoutes(deps));
  app.route("/", metricsRoutes(deps)); // outside /v1: no API key, no rate limit (RELAY_METRICS_TOKEN guards it)
  app.route("/", watchesRoutes(deps, hooks));
  app.route("/", exportRoutes(deps, hooks));
  app.route("/", subscriptionsRoutes(deps));
  app.route("/", aiRoutes(deps, hooks));
  app.route("/", agentRoutes(deps, hooks));
  app.route("/", signingSecretRoutes(deps, { onSigningSecretRotated: (tenantId) => hooks.onSigningSecretRotated?.(tenantId) }));
  app.route("/", originsRoutes(deps));
  app.route("/", deliveriesRoutes(deps, { onRedeliver: () => hooks.onRedeliver() }));
  // HTML, behind its own session cookie; app.all keeps it out of the OpenAPI route list.
  const dashboard = dashboardRoutes(deps, { onRedeliver: () => hooks.onRedeliver(), rateLimitNow: hooks.rateLimitNow });
  app.all("/dashboard/*", (c) => dashboard.fetch(c.req.raw, c.env));
  if (adminAuth) {
    app.route(
      "/",
      adminRoutes(deps, {
        onTenantChanged: (tenantId) => {
          keyAuth.invalidate();
          deps.tenantKeys.invalidate(tenantId);
        },
      }),
    );
  }

  app.route("/", docsRoutes()); // Swagger UI, public like the document
  serveOpenApiDocument(app); // last: the document lists every route mounted above
  return app;
}
