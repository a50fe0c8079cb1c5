import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../router.js";
import { createStartAndWatch, type StartAndWatchDeps, type StartEndpoint } from "../start-and-watch.js";
import { idempotencyHeader, json, security, startBodySchema, startResponses, tags } from "../start-schemas.js";
import { ErrorSchema } from "../schemas.js";
import { SERVICE_PATHS } from "../../upstream/paths.js";

const StartAgentSchema = startBodySchema("StartAgentJob", "POST /v1/agent", {
  prompt: "Cut the intro to 5 seconds and add captions",
  project_id: "prj_123",
});
const AGENT: StartEndpoint = { name: "agent", upstream: { path: SERVICE_PATHS.agent.start, service: "agent" } };

const startAgentRoute = createRoute({
  method: "post",
  path: "/v1/agent",
  tags,
  summary: "Start a Rendley agent job and watch it in one call",
  description:
    "As `POST /v1/export`, for the agent service's `POST /v1/agent` (at `RENDLEY_AGENT_URL`): the callback URL is checked, " +
    "Rendley's body (`prompt`, `project_id`, `files`, `thread_id`…) goes to the agent service with the tenant's Rendley key, " +
    'and the job id it answers is watched with `"service": "agent"` (polled on the agent service).',
  security,
  request: {
    headers: idempotencyHeader,
    body: { content: { "application/json": { schema: StartAgentSchema } }, required: true },
  },
  responses: {
    ...startResponses,
    429: json(ErrorSchema, "The agent's queue is full (upstream_error with Rendley's QUEUE_FULL message), with its Retry-After"),
  },
});

/**
 * `POST /v1/agent`: an agent job started at `RENDLEY_AGENT_URL` plus a watch on it (`service: "agent"`), at the
 * agent service's own path. The agent service has no price endpoint.
 * @param hooks.onWatchCreated wakes the scheduler so the first poll happens at once
 */
export function agentRoutes(deps: StartAndWatchDeps, hooks: { onWatchCreated: () => void }) {
  const app = createRouter();
  const { start } = createStartAndWatch(deps, hooks);

  app.openapi(startAgentRoute, async (c) => {
    const started = await start(c, AGENT, c.req.valid("json"), c.req.valid("header")["idempotency-key"]);
    return c.json(started.body, started.status);
  });

  return app;
}
