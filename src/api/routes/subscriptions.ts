import { createRoute, z } from "@hono/zod-openapi";
import { createSubscription, deleteSubscription, listSubscriptions, loadSubscription } from "../../db/queries/subscriptions.js";
import { DEFAULT_EVENTS } from "../../domain/events.js";
import type { Deps } from "../../deps.js";
import { NotFoundError } from "../../errors.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { createRouter } from "../router.js";
import { ErrorSchema } from "../schemas.js";
import {
  CreateSubscriptionSchema,
  ListSubscriptionsQuery,
  SubscriptionEnvelope,
  SubscriptionIdParam,
  SubscriptionSchema,
} from "../subscription-schemas.js";
import { toSubscriptionView } from "../subscription-view.js";
import { checkedCallbackUrl } from "../watch-request.js";

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
const errors = {
  400: json(ErrorSchema, "Invalid request (validation_failed, invalid_json, callback_url_*)"),
  401: json(ErrorSchema, "Missing or invalid API key (unauthorized)"),
};
const security = [{ bearerAuth: [] }];
const tags = ["subscriptions"];

const createSubscriptionRoute = createRoute({
  method: "post",
  path: "/v1/subscriptions",
  tags,
  summary: "Push for jobs nobody registered: every new job in Rendley's job list under a filter becomes a watch",
  description:
    "The relay lists each distinct filter of a tenant once per SUBSCRIPTION_LIST_INTERVAL_MS. The first listing is a " +
    "baseline: jobs already finished then are not announced unless `include_existing`. Every later new job becomes a " +
    "watch of the subscription (`subscription_id`), polled like any watch; its callbacks carry `data.subscription_id`.",
  security,
  request: { body: { content: { "application/json": { schema: CreateSubscriptionSchema } }, required: true } },
  responses: {
    201: json(SubscriptionEnvelope, "Subscription created; its filter is listed within one interval"),
    ...errors,
    413: json(ErrorSchema, "Body over 64 KiB (payload_too_large)"),
    415: json(ErrorSchema, "Body is not JSON (unsupported_media_type)"),
  },
});

const getSubscriptionRoute = createRoute({
  method: "get",
  path: "/v1/subscriptions/{id}",
  tags,
  summary: "A subscription with its last listing and error",
  security,
  request: { params: SubscriptionIdParam },
  responses: {
    200: json(SubscriptionEnvelope, "The subscription"),
    ...errors,
    404: json(ErrorSchema, "No such subscription (not_found)"),
  },
});

const listSubscriptionsRoute = createRoute({
  method: "get",
  path: "/v1/subscriptions",
  tags,
  summary: "Subscriptions, newest first, in pages",
  security,
  request: { query: ListSubscriptionsQuery },
  responses: {
    200: json(z.object({ data: z.array(SubscriptionSchema), next_cursor: z.string().nullable() }), "A page of subscriptions"),
    ...errors,
  },
});

const deleteSubscriptionRoute = createRoute({
  method: "delete",
  path: "/v1/subscriptions/{id}",
  tags,
  summary: "Stop discovery; the subscription's watches finish unless cancel_watches",
  security,
  request: {
    params: SubscriptionIdParam,
    query: z.strictObject({
      cancel_watches: z
        .enum(["true", "false", "1", "0"])
        .optional()
        .openapi({ description: "Also cancel every watch of the subscription still running (as DELETE /v1/watches/{id})." }),
    }),
  },
  responses: {
    200: json(
      z.object({ data: SubscriptionSchema, canceled_watches: z.number().int() }),
      "The deleted subscription (deleting it again answers the same), and how many watches were canceled",
    ),
    ...errors,
    404: json(ErrorSchema, "No such subscription (not_found)"),
  },
});

/** The subscriptions resource: same validation, SSRF and tenant rules as watches. */
export function subscriptionsRoutes(deps: Pick<Deps, "config" | "db" | "clock" | "random" | "resolver">) {
  const { db, clock, random } = deps;
  const app = createRouter();

  app.openapi(createSubscriptionRoute, async (c) => {
    const body = c.req.valid("json");
    const callbackUrl = await checkedCallbackUrl(deps, body.callback_url);
    const subscription = await createSubscription(
      db,
      {
        tenantId: c.get("tenantId"),
        filter: body.filter,
        callbackUrl: callbackUrl.href,
        events: [...new Set(body.events ?? DEFAULT_EVENTS)],
        metadata: body.metadata ?? null,
        retryScheduleMs: body.retry_schedule,
        callbackHeaders: body.callback_headers,
        includeExisting: body.include_existing ?? false,
      },
      { now: clock.now(), random },
    );
    return c.json({ data: toSubscriptionView(subscription) }, 201);
  });

  app.openapi(getSubscriptionRoute, async (c) => {
    const subscription = await loadSubscription(db, c.get("tenantId"), c.req.valid("param").id);
    if (!subscription) throw new NotFoundError("subscription");
    return c.json({ data: toSubscriptionView(subscription) }, 200);
  });

  app.openapi(listSubscriptionsRoute, async (c) => {
    const query = c.req.valid("query");
    const page = await listSubscriptions(db, {
      tenantId: c.get("tenantId"),
      status: query.status,
      limit: query.limit ?? 50,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    return c.json({ data: page.records.map(toSubscriptionView), next_cursor: page.next ? encodeCursor(page.next) : null }, 200);
  });

  app.openapi(deleteSubscriptionRoute, async (c) => {
    const cancelWatches = ["true", "1"].includes(c.req.valid("query").cancel_watches ?? "false");
    const result = await deleteSubscription(db, c.get("tenantId"), c.req.valid("param").id, { now: clock.now(), cancelWatches });
    if (result.kind === "not_found") throw new NotFoundError("subscription");
    return c.json({ data: toSubscriptionView(result.subscription), canceled_watches: result.canceledWatches }, 200);
  });

  return app;
}
