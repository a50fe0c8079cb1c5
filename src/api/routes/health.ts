import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.js";
import { DEFAULT_TENANT_ID } from "../../domain/tenant.js";
import { pingDatabase } from "../../db/queries/ping-database.js";
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

/** What `/readyz` answers from SIGTERM until the listener closes (src/api/listener.ts): no check is run. */
const DrainingSchema = z
  .object({ data: z.object({ status: z.literal("not_ready"), checks: z.object({ draining: z.literal(true) }) }) })
  .openapi("Draining");

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
    503: {
      content: { "application/json": { schema: z.union([ReadySchema, DrainingSchema]) } },
      description: "Not ready; `checks` says why (`draining` after SIGTERM, for SHUTDOWN_UNREADY_MS before the listener closes)",
    },
  },
});

/** A key that was never used is checked against Rendley at most this often. */
const PROBE_EVERY_MS = 30_000;
/** `select 1` must answer within this, or the database counts as unreachable. */
const DB_CHECK_TIMEOUT_MS = 1_000;
/** A database check is reused this long, so a probe storm costs at most one query per second. */
const DB_CHECK_CACHE_MS = 1_000;

type DbCheck = "ok" | "unreachable";

/** `select 1` with a short deadline, cached for a second and shared by concurrent probes. */
function databaseCheck(deps: Pick<Deps, "db">): () => Promise<DbCheck> {
  let last: { at: number; result: DbCheck } | undefined;
  let running: Promise<DbCheck> | undefined;
  return () => {
    if (last && Date.now() - last.at < DB_CHECK_CACHE_MS) return Promise.resolve(last.result);
    running ??= Promise.race([
      pingDatabase(deps.db).then(
        () => "ok" as const,
        () => "unreachable" as const,
      ),
      new Promise<"unreachable">((resolve) => setTimeout(() => resolve("unreachable"), DB_CHECK_TIMEOUT_MS).unref()),
    ]).then((result) => {
      last = { at: Date.now(), result };
      running = undefined;
      return result;
    });
    return running;
  };
}

export function healthRoutes(deps: Pick<Deps, "config" | "db" | "upstream" | "upstreamHealth">) {
  const app = createRouter();
  let lastProbeAt = 0;
  const checkDatabase = databaseCheck(deps);

  app.openapi(healthRoute, (c) => c.json({ data: { status: "ok" as const } }, 200));

  app.openapi(readyRoute, async (c) => {
    const database = await checkDatabase();
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
