import { createRoute, z } from "@hono/zod-openapi";
import { listOriginStates } from "../../db/queries/origin-states.js";
import type { Deps } from "../../deps.js";
import { BREAKER_STATES } from "../../domain/breaker.js";
import { toOriginView } from "../admin-views.js";
import { createRouter } from "../router.js";
import { ErrorSchema } from "../schemas.js";

const OriginSchema = z
  .object({
    origin: z.string().openapi({ example: "https://app.example.com" }),
    state: z.enum(BREAKER_STATES).openapi({
      description:
        "closed: delivering. open: paused after consecutive failures until open_until. half_open: one probe in flight.",
    }),
    consecutive_failures: z.number().int(),
    opened_at: z.string().nullable(),
    open_until: z.string().nullable(),
    last_success_at: z.string().nullable(),
    last_failure_at: z.string().nullable(),
    updated_at: z.string(),
  })
  .openapi("Origin");

const route = createRoute({
  method: "get",
  path: "/v1/origins",
  tags: ["deliveries"],
  summary: "Receiver health: the circuit breaker of every callback origin that has had a failure",
  security: [{ bearerAuth: [] }],
  responses: {
    200: {
      content: { "application/json": { schema: z.object({ data: z.array(OriginSchema) }) } },
      description: "Origins, most recently changed first",
    },
    401: { content: { "application/json": { schema: ErrorSchema } }, description: "Missing or invalid API key" },
  },
});

export function originsRoutes(deps: Pick<Deps, "db">) {
  const app = createRouter();
  app.openapi(route, async (c) => c.json({ data: (await listOriginStates(deps.db, c.get("tenantId"))).map(toOriginView) }, 200));
  return app;
}
