import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.js";
import { createStartAndWatch, type StartAndWatchDeps, type StartEndpoint } from "../start-and-watch.js";
import {
  costBodySchema,
  costErrors,
  idempotencyHeader,
  json,
  security,
  startBodySchema,
  startResponses,
  tags,
} from "../start-schemas.js";
import { SERVICE_PATHS } from "../../upstream/paths.js";

const EXAMPLE = { project_id: "prj_123", settings: { target_resolution: "1080p", codec: "h264" } };
export const StartExportSchema = startBodySchema("StartExport", "POST /v1/export", {
  ...EXAMPLE,
  metadata: { order_id: "ord_42" },
});
const ExportCostSchema = costBodySchema("ExportCostRequest", "POST /v1/export", EXAMPLE);
const EXPORT: StartEndpoint = { name: "export", upstream: { path: SERVICE_PATHS.api.export } };

const startExportRoute = createRoute({
  method: "post",
  path: "/v1/export",
  tags,
  summary: "Start a Rendley export and watch its job in one call",
  description:
    "Checks the callback URL, then calls Rendley's `POST /v1/export` with the tenant's Rendley key and registers a watch " +
    "for the returned job id. If Rendley refuses or fails, nothing is stored and its status and message are returned.",
  security,
  request: {
    headers: idempotencyHeader,
    body: { content: { "application/json": { schema: StartExportSchema } }, required: true },
  },
  responses: startResponses,
});

const exportCostRoute = createRoute({
  method: "post",
  path: "/v1/export/cost",
  tags,
  summary: "The credit price of an export, from Rendley's `POST /v1/export/cost` (nothing is started)",
  security,
  request: { body: { content: { "application/json": { schema: ExportCostSchema } }, required: true } },
  responses: {
    200: json(z.looseObject({}).openapi({ example: { data: { credits: 10 } } }), "Rendley's answer, status and body as received"),
    ...costErrors,
  },
});

/**
 * `POST /v1/export` (Rendley's export plus a watch on its job) and `POST /v1/export/cost` (Rendley's price,
 * passed through), at Rendley's own paths.
 * @param hooks.onWatchCreated wakes the scheduler so the first poll happens at once
 */
export function exportRoutes(deps: StartAndWatchDeps, hooks: { onWatchCreated: () => void }) {
  const app = createRouter();
  const { start, cost } = createStartAndWatch(deps, hooks);

  app.openapi(startExportRoute, async (c) => {
    const started = await start(c, EXPORT, c.req.valid("json"), c.req.valid("header")["idempotency-key"]);
    return c.json(started.body, started.status);
  });

  app.openapi(exportCostRoute, async (c) => {
    c.req.valid("json");
    const answer = await cost(c, { path: SERVICE_PATHS.api.exportCost });
    return c.json(answer.body as Record<string, unknown>, answer.status as 200);
  });

  return app;
}
