import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { ApiEnv } from "../auth.js";
import { createRouter } from "../router.js";
import { createStartAndWatch, type StartAndWatchDeps } from "../start-and-watch.js";
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
import { ErrorSchema } from "../schemas.js";
import { AppError } from "../../errors.js";
import { fillPath, SERVICE_PATHS } from "../../upstream/paths.js";

const EXAMPLE = { project_id: "prj_123", model_id: "whisper-large-v3", params: { language: "en" } };
const StartAiSchema = startBodySchema("StartAiJob", "POST /v1/ai/{action}", EXAMPLE);
const AiCostSchema = costBodySchema("AiCostRequest", "POST /v1/ai/{action}", EXAMPLE);
const AiCostAnswerSchema = z.union([z.number(), z.looseObject({})]).openapi("AiCost", {
  description: "Rendley's price as it answered it: a number, `{credits}` or `{data: {credits}}`.",
  example: 12,
});

const ActionParam = z.object({
  action: z
    .string()
    .max(64)
    .openapi({
      param: { name: "action", in: "path" },
      description: "A Rendley AI tool (`transcribe`, `text-to-speech`, …): one of `RENDLEY_AI_ACTIONS`.",
      example: "transcribe",
    }),
});
const unknownAction = json(ErrorSchema, "The action is not one of RENDLEY_AI_ACTIONS (unknown_action); nothing goes to Rendley");

const startAiRoute = createRoute({
  method: "post",
  path: "/v1/ai/{action}",
  tags,
  summary: "Start a Rendley AI job (transcribe, text-to-speech, …) and watch it in one call",
  description:
    "As `POST /v1/export`, for Rendley's `POST /v1/ai/{action}`: the callback URL is checked, Rendley's body goes to Rendley " +
    "with the tenant's Rendley key, and the job id it answers is watched. An action outside `RENDLEY_AI_ACTIONS` → 404.",
  security,
  request: {
    params: ActionParam,
    headers: idempotencyHeader,
    body: { content: { "application/json": { schema: StartAiSchema } }, required: true },
  },
  responses: { ...startResponses, 404: unknownAction },
});

const aiCostRoute = createRoute({
  method: "post",
  path: "/v1/ai/{action}/cost",
  tags,
  summary: "The credit price of an AI job, from Rendley's `POST /v1/ai/{action}/cost` (nothing is started)",
  security,
  request: { params: ActionParam, body: { content: { "application/json": { schema: AiCostSchema } }, required: true } },
  responses: {
    200: json(AiCostAnswerSchema, "Rendley's answer, status and body as received (a number, `{credits}` or `{data: {credits}}`)"),
    ...costErrors,
    404: unknownAction,
  },
});

/**
 * `POST /v1/ai/{action}` (Rendley's AI job plus a watch on it) and `POST /v1/ai/{action}/cost` (Rendley's price,
 * passed through), at Rendley's own paths. An action outside `RENDLEY_AI_ACTIONS` is refused before the body is
 * read: nothing goes upstream and nothing is stored.
 * @param hooks.onWatchCreated wakes the scheduler so the first poll happens at once
 */
export function aiRoutes(deps: StartAndWatchDeps, hooks: { onWatchCreated: () => void }) {
  const app = createRouter();
  const { start, cost } = createStartAndWatch(deps, hooks);
  const actions = new Set(deps.config.rendleyAiActions);

  const knownAction: MiddlewareHandler<ApiEnv> = async (c, next) => {
    const action = c.req.param("action") ?? "";
    if (!actions.has(action)) {
      const shown = JSON.stringify(action.replace(/[^\x20-\x7e]/g, "?").slice(0, 64));
      throw new AppError("unknown_action", 404, `no AI action ${shown}: the relay accepts ${[...actions].join(", ")}`);
    }
    await next();
  };
  // Before the routes' own validation: an unknown action is a 404 whatever the body.
  app.use("/v1/ai/:action", knownAction);
  app.use("/v1/ai/:action/cost", knownAction);

  app.openapi(startAiRoute, async (c) => {
    const { action } = c.req.valid("param");
    const endpoint = { name: `ai/${action}`, upstream: { path: fillPath(SERVICE_PATHS.api.ai, { action }) } };
    const started = await start(c, endpoint, c.req.valid("json"), c.req.valid("header")["idempotency-key"]);
    return c.json(started.body, started.status);
  });

  app.openapi(aiCostRoute, async (c) => {
    const { action } = c.req.valid("param");
    c.req.valid("json");
    const answer = await cost(c, { path: fillPath(SERVICE_PATHS.api.aiCost, { action }) });
    return c.json(answer.body as Record<string, unknown>, answer.status as 200);
  });

  return app;
}
