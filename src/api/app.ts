import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";
import { findTenantByApiKey } from "../db/queries/find-tenant-by-api-key.js";
import { VERSION } from "../version.js";
import { requireApiKey, type ApiEnv } from "./auth.js";
import { createErrorHandler, errorBody } from "./errors.js";
import { deliveriesRoutes } from "./routes/deliveries.js";
import { healthRoutes } from "./routes/health.js";
import { originsRoutes } from "./routes/origins.js";
import { signingSecretRoutes } from "./routes/signing-secret.js";
import { watchesRoutes } from "./routes/watches.js";

export const MAX_BODY_BYTES = 64 * 1024;

export interface AppHooks {
  /** A watch was registered: poll now rather than at the next tick. */
  onWatchCreated: () => void;
  /** A redelivery was queued: send now. */
  onRedeliver: () => void;
  /** The tenant's signing secrets changed: sign the next callback with the new set. */
  onSigningSecretRotated?: (tenantId: string) => void;
}

/**
 * The HTTP API: /v1 (API key), /healthz, /readyz, /openapi.json. Routes, validation and the OpenAPI
 * document come from the same zod schemas.
 */
export function createApp(deps: Deps, hooks: AppHooks = { onWatchCreated: () => {}, onRedeliver: () => {} }) {
  const logger = deps.logger.child({ component: "api" });
  const app = new OpenAPIHono<ApiEnv>();

  app.use(requestId({ limitLength: 64 }));
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    logger.info(
      {
        requestId: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      "request",
    );
  });
  app.onError(createErrorHandler(logger));
  app.notFound((c) => c.json(errorBody("not_found", `no route ${c.req.method} ${c.req.path}`), 404));

  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new AppError("payload_too_large", 413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );
  app.use(
    "/v1/*",
    requireApiKey((key) => findTenantByApiKey(deps.db, key)),
  );

  app.route("/", healthRoutes(deps));
  app.route("/", watchesRoutes(deps, hooks));
  app.route("/", signingSecretRoutes(deps, { onSigningSecretRotated: (tenantId) => hooks.onSigningSecretRotated?.(tenantId) }));
  app.route("/", originsRoutes(deps));
  app.route("/", deliveriesRoutes(deps, { onRedeliver: () => hooks.onRedeliver() }));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "The relay API key (RELAY_API_KEY, or the key printed at first start).",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "rendley-relay",
      version: VERSION,
      description: "Turns Rendley's polling-only job API into signed push callbacks.",
    },
  });
  return app;
}
