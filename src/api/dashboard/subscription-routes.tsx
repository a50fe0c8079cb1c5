import { Hono, type Context } from "hono";
import { countSubscriptionWatches } from "../../db/queries/dashboard-subscriptions.js";
import { listDashboardWatches } from "../../db/queries/dashboard-watch-list.js";
import { listSubscriptions, loadSubscription } from "../../db/queries/subscriptions.js";
import type { Deps } from "../../deps.js";
import { SUBSCRIPTION_STATUSES, type SubscriptionStatus } from "../../domain/subscription.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { PageError } from "./page-error.js";
import { DEFAULT_PAGE_SIZE, pageLimit } from "./paging.js";
import type { DashboardEnv } from "./session.js";
import {
  SubscriptionPage,
  SubscriptionsPage,
  subscriptionHref,
  subscriptionsHref,
  type SubscriptionFilters,
} from "./subscription-pages.js";

const isStatus = (value: string): value is SubscriptionStatus => (SUBSCRIPTION_STATUSES as readonly string[]).includes(value);

/**
 * GET /dashboard/subscriptions (the tenant's subscriptions, newest first, in keyset pages) and
 * GET /dashboard/subscriptions/{id} (one subscription, its last listing and the watches it discovered, in keyset
 * pages too: `?limit=&cursor=`). Read-only; mounted by dashboardRoutes behind its session check, whose error page
 * renders what these throw.
 */
export function subscriptionPages(deps: Pick<Deps, "db">) {
  const { db } = deps;
  const app = new Hono<DashboardEnv>();
  const cursorOf = (c: Context) => {
    const raw = c.req.query("cursor");
    return raw ? decodeCursor(raw) : undefined;
  };

  app.get("/dashboard/subscriptions", async (c) => {
    const status = c.req.query("status") || undefined;
    if (status !== undefined && !isStatus(status))
      throw new PageError("invalid_filter", 400, `Unknown status filter; use one of ${SUBSCRIPTION_STATUSES.join(", ")}.`);
    const filters: SubscriptionFilters = { status, limit: pageLimit(c.req.query("limit")) };
    const after = cursorOf(c);
    const page = await listSubscriptions(db, {
      tenantId: c.get("tenantId"),
      status,
      limit: filters.limit ?? DEFAULT_PAGE_SIZE,
      after,
    });
    return c.html(
      `<!doctype html>${(
        <SubscriptionsPage
          csrf={c.get("csrf")}
          filters={filters}
          records={page.records}
          nextHref={page.next ? subscriptionsHref(filters, encodeCursor(page.next)) : undefined}
          paged={after !== undefined}
        />
      )}`,
    );
  });

  app.get("/dashboard/subscriptions/:id", async (c) => {
    const id = c.req.param("id");
    const tenantId = c.get("tenantId");
    const subscription = id.length <= 64 ? await loadSubscription(db, tenantId, id) : undefined;
    if (!subscription) throw new PageError("not_found", 404, "No such subscription (or it belongs to another tenant).");
    const limit = pageLimit(c.req.query("limit"));
    const after = cursorOf(c);
    const page = await listDashboardWatches(db, { tenantId, subscriptionId: id, limit: limit ?? DEFAULT_PAGE_SIZE, after });
    const counts = await countSubscriptionWatches(db, { tenantId, subscriptionId: id });
    return c.html(
      `<!doctype html>${(
        <SubscriptionPage
          csrf={c.get("csrf")}
          subscription={subscription}
          counts={counts}
          watches={page.rows}
          limit={limit}
          nextHref={page.next ? subscriptionHref(id, { limit, cursor: encodeCursor(page.next) }) : undefined}
          paged={after !== undefined}
        />
      )}`,
    );
  });

  return app;
}
