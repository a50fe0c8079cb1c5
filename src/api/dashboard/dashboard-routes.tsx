import { getConnInfo } from "@hono/node-server/conninfo";
import { Hono, type Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { limitBody } from "../body-limit.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { rateLimit } from "../rate-limit.js";
import { rejectUnstorableText } from "../storable-text.js";
import { countWatchesByStatus } from "../../db/queries/dashboard-counts.js";
import { notifyLatencyByMinute } from "../../db/queries/dashboard-latency.js";
import { findDashboardKey } from "../../db/queries/dashboard-sessions.js";
import { listDashboardWatches } from "../../db/queries/dashboard-watch-list.js";
import { loadWatchViews } from "../watch-view.js";
import { redeliverWatch } from "../../db/queries/redeliver-watch.js";
import type { Deps } from "../../deps.js";
import { AppError } from "../../errors.js";
import { errorForLog } from "../../lib/error-for-log.js";
import { isDatabaseUnavailable } from "../../db/connection-loss.js";
import { safeEqual, sha256Hex } from "../../lib/hash.js";
import { PAGE_HEADERS } from "./layout.js";
import { LoginPage, MessagePage } from "./login-page.js";
import { WATCH_STATUSES } from "../../domain/watch.js";
import { EVENT_FILTERS, OverviewPage, overviewHref, type ListFilters } from "./overview-page.js";
import { PageError } from "./page-error.js";
import { DEFAULT_PAGE_SIZE, pageLimit } from "./paging.js";
import {
  csrfTokenFor,
  type DashboardEnv,
  issueSession,
  LOGIN_COOKIE,
  readSession,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  verifySession,
} from "./session.js";
import { subscriptionPages } from "./subscription-routes.js";
import { NOTICES, REDELIVER_ERRORS, WatchPage } from "./watch-page.js";

export interface DashboardHooks {
  /** A redelivery was queued: wake the delivery worker (the same hook as POST /v1/watches/{id}/redeliver). */
  onRedeliver: () => void;
  /** Tests: the login rate limiter's clock (ms). */
  rateLimitNow?: (() => number) | undefined;
}

/** Login attempts per client address: 10 at once, then one every 2 s. */
const LOGIN_BURST = 10;
const LOGIN_RPS = 0.5;
const FORM_MAX_BYTES = 16 * 1024;
const KEY = /^[\x21-\x7e]{1,512}$/;
const NONCE = /^[A-Za-z0-9_-]{22,64}$/;

const isHttps = (c: Context) =>
  new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto")?.split(",")[0]?.trim() === "https";

const cookieOptions = (c: Context, maxAgeSeconds: number) =>
  ({ httpOnly: true, sameSite: "Strict", path: "/dashboard", secure: isHttps(c), maxAge: maxAgeSeconds }) as const;

function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown"; // no socket (app.request in tests)
  }
}

/**
 * GET /dashboard: a server-rendered status page (Hono JSX, no script) behind a relay API key: the watches, each
 * watch with its deliveries, and the subscriptions (subscription-routes.tsx) with the watches they discovered. The login
 * exchanges the key for a signed session cookie (HttpOnly, SameSite=Strict, Path=/dashboard) naming the
 * tenant and key, never holding the key; every request re-checks the key is still live, so revoking it
 * ends its sessions. Every form carries a per-session anti-forgery token. Mounted by createApp.
 */
export function dashboardRoutes(deps: Pick<Deps, "config" | "db" | "clock" | "random" | "logger">, hooks: DashboardHooks) {
  const { db, clock } = deps;
  const secret = deps.config.encryptionKey;
  const logger = deps.logger.child({ component: "dashboard" });
  const app = new Hono<DashboardEnv>();

  function renderLogin(c: Context, status: ContentfulStatusCode, error?: string) {
    const existing = getCookie(c, LOGIN_COOKIE);
    const nonce = existing && NONCE.test(existing) ? existing : deps.random.bytes(24).toString("base64url");
    setCookie(c, LOGIN_COOKIE, nonce, cookieOptions(c, 3600));
    return c.html(`<!doctype html>${(<LoginPage nonce={nonce} error={error} />)}`, status);
  }

  async function checkCsrf(c: Context<DashboardEnv>) {
    const form = await c.req.parseBody();
    if (typeof form.csrf !== "string" || !safeEqual(form.csrf, c.get("csrf"))) {
      throw new PageError(
        "csrf_failed",
        403,
        "This form is out of date or did not come from the dashboard. Reload the page and retry.",
      );
    }
  }

  app.onError((err, c) => {
    let status: ContentfulStatusCode = 500;
    let message = "Something went wrong; the error was logged.";
    if (err instanceof PageError || err instanceof AppError) {
      status = err.status;
      message = err.message;
      if (err instanceof AppError && err.code === "rate_limited")
        message = "Too many login attempts: wait a few seconds and retry.";
    } else if (isDatabaseUnavailable(err)) {
      status = 503;
      message = "The relay's database is not reachable; retry shortly.";
    } else {
      logger.error({ err: errorForLog(err, { stack: true }), path: c.req.path }, "dashboard error");
    }
    if (c.req.path === "/dashboard/login") return renderLogin(c, status, message);
    const title = status === 404 ? "Not found" : status === 401 ? "Logged out" : "Refused";
    const csrf = (c as Context<DashboardEnv>).get("csrf");
    return c.html(`<!doctype html>${(<MessagePage title={title} message={message} csrf={csrf} />)}`, status);
  });
  app.notFound((c) => {
    throw new PageError("not_found", 404, `No dashboard page at ${c.req.path}.`);
  });

  app.use(async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(PAGE_HEADERS)) c.res.headers.set(name, value);
  });
  app.use(limitBody(FORM_MAX_BYTES));
  app.use(rejectUnstorableText);

  app.get("/dashboard/login", (c) => renderLogin(c, 200));
  const loginLimit = rateLimit({ rps: LOGIN_RPS, burst: LOGIN_BURST, now: hooks.rateLimitNow });
  app.post(
    "/dashboard/login",
    async (c, next) => {
      c.set("rateKey", `dashboard-login:${clientAddress(c)}`);
      await next();
    },
    loginLimit,
    async (c) => {
      const form = await c.req.parseBody();
      const nonce = getCookie(c, LOGIN_COOKIE);
      if (!nonce || typeof form.csrf !== "string" || !safeEqual(form.csrf, nonce)) {
        return renderLogin(c, 403, "The login form expired (or cookies are off): try again.");
      }
      const key = typeof form.key === "string" ? form.key.trim() : "";
      const found = KEY.test(key) ? await findDashboardKey(db, { keyHash: sha256Hex(key) }) : undefined;
      if (!found) {
        logger.info({ client: clientAddress(c) }, "dashboard login refused");
        return renderLogin(c, 401, "This API key is not valid.");
      }
      if (found.tenantStatus !== "active") return renderLogin(c, 403, "This tenant is disabled.");
      setCookie(c, SESSION_COOKIE, issueSession(found, clock.now(), secret), cookieOptions(c, SESSION_TTL_MS / 1000));
      deleteCookie(c, LOGIN_COOKIE, { path: "/dashboard", secure: isHttps(c) });
      logger.info({ tenantId: found.tenantId, keyId: found.keyId }, "dashboard login");
      return c.redirect("/dashboard", 303);
    },
  );

  // Everything below needs a live session.
  app.use(async (c, next) => {
    const claims = readSession(getCookie(c, SESSION_COOKIE));
    const key = claims ? await findDashboardKey(db, { keyId: claims.keyId, tenantId: claims.tenantId }) : undefined;
    if (!claims || !key || key.tenantStatus !== "active" || !verifySession(claims, key, clock.now(), secret)) {
      if (claims) deleteCookie(c, SESSION_COOKIE, { path: "/dashboard", secure: isHttps(c) });
      if (c.req.method === "GET" || c.req.method === "HEAD") return c.redirect("/dashboard/login", 303);
      throw new PageError(
        "session_expired",
        401,
        "Your session ended (logged out, expired or the key was revoked). Log in again.",
      );
    }
    c.set("tenantId", key.tenantId);
    c.set("csrf", csrfTokenFor(claims, key, secret));
    await next();
  });

  app.get("/dashboard/", (c) => c.redirect("/dashboard", 301));
  app.route("/", subscriptionPages(deps));
  app.get("/dashboard", async (c) => {
    const query = c.req.query();
    const filters: ListFilters = {
      q: query.q?.trim() || undefined,
      status: query.status || undefined,
      event: query.event || undefined,
      limit: pageLimit(query.limit),
    };
    if (filters.status && !(WATCH_STATUSES as readonly string[]).includes(filters.status))
      throw new PageError("invalid_filter", 400, `Unknown status filter; use one of ${WATCH_STATUSES.join(", ")}.`);
    if (filters.event && !EVENT_FILTERS.includes(filters.event))
      throw new PageError("invalid_filter", 400, `Unknown event filter; use one of ${EVENT_FILTERS.join(", ")}.`);
    if (filters.q && filters.q.length > 128)
      throw new PageError("invalid_filter", 400, "The search is longer than 128 characters.");
    const tenantId = c.get("tenantId");
    const now = clock.now();
    const counts = await countWatchesByStatus(db, tenantId);
    const page = await listDashboardWatches(db, {
      tenantId,
      status: filters.status,
      event: filters.event,
      prefix: filters.q,
      limit: filters.limit ?? DEFAULT_PAGE_SIZE,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    const latency = await notifyLatencyByMinute(db, { tenantId, now });
    return c.html(
      `<!doctype html>${(
        <OverviewPage
          csrf={c.get("csrf")}
          counts={counts}
          filters={filters}
          rows={page.rows}
          nextHref={page.next ? overviewHref(filters, encodeCursor(page.next)) : undefined}
          paged={Boolean(query.cursor)}
          latency={latency}
          now={now}
        />
      )}`,
    );
  });

  const watchId = (c: Context) => {
    const id = c.req.param("id") ?? "";
    if (id.length > 64) throw new PageError("not_found", 404, "No such watch.");
    return id;
  };

  app.get("/dashboard/watches/:id", async (c) => {
    const [watch] = await loadWatchViews(db, c.get("tenantId"), [watchId(c)]);
    if (!watch) throw new PageError("not_found", 404, "No such watch (or it belongs to another tenant).");
    const notice = c.req.query("notice") === "redelivered" ? NOTICES.redelivered : undefined;
    const errorCode = c.req.query("error") ?? "";
    const error = Object.hasOwn(REDELIVER_ERRORS, errorCode)
      ? REDELIVER_ERRORS[errorCode as keyof typeof REDELIVER_ERRORS]
      : undefined;
    return c.html(`<!doctype html>${(<WatchPage csrf={c.get("csrf")} watch={watch} notice={notice} error={error} />)}`);
  });

  app.post("/dashboard/watches/:id/redeliver", async (c) => {
    await checkCsrf(c);
    const id = watchId(c);
    const result = await redeliverWatch(db, c.get("tenantId"), id, clock.now());
    const page = `/dashboard/watches/${encodeURIComponent(id)}`;
    switch (result.kind) {
      case "not_found":
        throw new PageError("not_found", 404, "No such watch (or it belongs to another tenant).");
      case "queued":
        hooks.onRedeliver();
        return c.redirect(`${page}?notice=redelivered`, 303);
      case "watching":
        return c.redirect(`${page}?error=watch_active`, 303);
      case "canceled":
        return c.redirect(`${page}?error=watch_finished`, 303);
      case "nothing":
        return c.redirect(`${page}?error=nothing_to_redeliver`, 303);
    }
  });

  app.post("/dashboard/logout", async (c) => {
    await checkCsrf(c);
    deleteCookie(c, SESSION_COOKIE, { path: "/dashboard", secure: isHttps(c) });
    return c.redirect("/dashboard/login", 303);
  });

  return app;
}
