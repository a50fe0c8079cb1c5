import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.js";
import { sql } from "drizzle-orm";
import { DEFAULT_TENANT_ID } from "../../db/queries/bootstrap-tenant.js";
import type { Deps } from "../../deps.js";

const ReadySchema = z
  .object({
    data: z.object({
      status: z.enum(["ready", "not_ready"]),
      checks: z.object({
        database: z.enum(["ok", "unreachable"]),
        upstream_key: z.enum(["accepted", "rejected", "unknown"]),
      }),
    }),
  })
  .openapi("Readiness");

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["operations"],
  summary: "Liveness: the process is up",
  responses: {
    200: {
      content: { "application/json": { schema: z.object({ data: z.object({ status: z.literal("ok") }) }) } },
      description: "Alive",
    },
  },
});

const readyRoute = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["operations"],
  summary: "Readiness: the database answers and Rendley accepts the API key",
  responses: {
    200: { content: { "application/json": { schema: ReadySchema } }, description: "Ready" },
    503: { content: { "application/json": { schema: ReadySchema } }, description: "Not ready; `checks` says why" },
  },
});

/** A key that was never used is checked against Rendley at most this often. */
const PROBE_EVERY_MS = 30_000;
const DB_CHECK_TIMEOUT_MS = 2_000;

export function healthRoutes(deps: Deps) {
  const app = createRouter();
  let lastProbeAt = 0;

  app.openapi(healthRoute, (c) => c.json({ data: { status: "ok" as const } }, 200));

  app.openapi(readyRoute, async (c) => {
    const database = await Promise.race([
      deps.db.rows(sql`select 1`).then(
        () => "ok" as const,
        () => "unreachable" as const,
      ),
      new Promise<"unreachable">((resolve) => setTimeout(() => resolve("unreachable"), DB_CHECK_TIMEOUT_MS).unref()),
    ]);
    // The environment's key (the default tenant's) is the relay's own; tenants' keys are their business.
    const envKey = deps.config.rendleyApiKey;
    const health = deps.upstreamHealth;
    if (envKey && health.keyStatus(DEFAULT_TENANT_ID) === "unknown" && Date.now() - lastProbeAt > PROBE_EVERY_MS) {
      lastProbeAt = Date.now();
      const probed = await deps.upstream.probeKey({ apiKey: envKey });
      if (probed === "accepted") health.recordAccepted(DEFAULT_TENANT_ID);
      if (probed === "rejected") health.recordRejected(DEFAULT_TENANT_ID, 401);
    }
    const upstreamKey = envKey ? health.keyStatus(DEFAULT_TENANT_ID) : "unknown";
    const ready = database === "ok" && upstreamKey !== "rejected";
    return c.json(
      { data: { status: ready ? "ready" : "not_ready", checks: { database, upstream_key: upstreamKey } } },
      ready ? 200 : 503,
    );
  });
  return app;
}
