import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.js";
import { sql } from "drizzle-orm";
import type { Deps } from "../../deps.js";
import { NotFoundError } from "../../errors.js";
import { ErrorSchema } from "../schemas.js";

const route = createRoute({
  method: "get",
  path: "/v1/signing-secret",
  tags: ["signing"],
  summary: "The secret callbacks are signed with (Standard Webhooks, `whsec_…`)",
  security: [{ bearerAuth: [] }],
  responses: {
    200: {
      content: {
        "application/json": {
          schema: z.object({
            data: z.object({ secret: z.string().openapi({ example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }) }),
          }),
        },
      },
      description: "The current signing secret",
    },
    401: { content: { "application/json": { schema: ErrorSchema } }, description: "Missing or invalid API key" },
  },
});

export function signingSecretRoutes(deps: Deps) {
  const app = createRouter();
  app.openapi(route, async (c) => {
    const [row] = await deps.db.rows<{ secret: string }>(
      sql`select secret from signing_secrets where tenant_id = ${c.get("tenantId")} and expires_at is null
          order by created_at desc limit 1`,
    );
    if (!row) throw new NotFoundError("signing secret");
    return c.json({ data: { secret: row.secret } }, 200);
  });
  return app;
}
