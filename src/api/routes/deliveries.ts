import { createRoute, z } from "@hono/zod-openapi";
import { recoverDeliveries } from "../../db/queries/recover-deliveries.js";
import type { Deps } from "../../deps.js";
import { ValidationError } from "../../errors.js";
import { createRouter } from "../router.js";
import { isStorableDate } from "../storable-text.js";
import { ErrorSchema } from "../schemas.js";

/** Most deliveries one recover call re-queues; call again (with a later `since`) for more. */
export const MAX_RECOVER = 10_000;

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

const Timestamp = z.iso
  .datetime({ offset: true, error: "must be an ISO 8601 timestamp with a time zone, e.g. 2026-01-01T00:00:00Z" })
  .openapi({ example: "2026-01-01T00:00:00Z" });

const RecoverSchema = z
  .strictObject({
    since: Timestamp.openapi({
      description: "Start of the window (inclusive): deliveries whose last attempt is at or after it.",
    }),
    until: Timestamp.optional().openapi({ description: "End of the window (exclusive); default now. Must be after `since`." }),
  })
  .openapi("RecoverDeliveries");

const recoverRoute = createRoute({
  method: "post",
  path: "/v1/deliveries/recover",
  tags: ["deliveries"],
  summary: "Re-queue every failed delivery whose last attempt falls in [since, until) (e.g. after a receiver outage)",
  description:
    `Each delivery is sent again as a new series of attempts with the same webhook-id, marked \`manual\`; ` +
    `a failed watch whose final event is re-queued goes back to \`delivering\`. Deliveries of canceled watches stay failed. ` +
    `At most ${MAX_RECOVER} per call, oldest last attempt first.`,
  security: [{ bearerAuth: [] }],
  request: { body: { content: { "application/json": { schema: RecoverSchema } }, required: true } },
  responses: {
    202: json(z.object({ data: z.object({ queued: z.number().int() }) }), "How many deliveries were re-queued"),
    400: json(ErrorSchema, "Invalid request (validation_failed, invalid_json)"),
    401: json(ErrorSchema, "Missing or invalid API key (unauthorized)"),
    415: json(ErrorSchema, "Body is not JSON (unsupported_media_type)"),
  },
});

/**
 * The deliveries resource (bulk operations across watches).
 * @param hooks.onRedeliver wakes the delivery worker
 */
export function deliveriesRoutes(deps: Pick<Deps, "db" | "clock">, hooks: { onRedeliver: () => void }) {
  const app = createRouter();

  app.openapi(recoverRoute, async (c) => {
    const body = c.req.valid("json");
    const now = deps.clock.now();
    const since = new Date(body.since);
    const until = body.until === undefined ? now : new Date(body.until);
    for (const [path, date] of [
      ["since", since],
      ["until", until],
    ] as const) {
      if (!isStorableDate(date))
        throw new ValidationError(`${path}: must be within the years 1 to 9999`, [{ path, message: "out of range" }]);
    }
    if (since.getTime() >= until.getTime()) {
      const message = body.until === undefined ? "must be in the past" : "must be before until";
      throw new ValidationError(`since: ${message}`, [{ path: "since", message }]);
    }
    const queued = await recoverDeliveries(deps.db, { tenantId: c.get("tenantId"), since, until, now, limit: MAX_RECOVER });
    if (queued > 0) hooks.onRedeliver();
    return c.json({ data: { queued } }, 202);
  });

  return app;
}
