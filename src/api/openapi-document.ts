import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "hono";
import { VERSION } from "../version.js";
import { registerCallbackWebhook } from "./openapi-callback.js";
import { ROUTE_EXAMPLES } from "./openapi-examples.js";

/**
 * Paths the app serves that are not part of the JSON API and so not in the document: the document itself,
 * its viewer, and pages for people. A path is undocumented when it equals an entry or lies under it.
 */
export const UNDOCUMENTED_PATHS = ["/openapi.json", "/docs", "/dashboard", "/metrics"] as const;

export function isUndocumentedPath(path: string): boolean {
  return UNDOCUMENTED_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
}

/** Answers any /v1 route can give, whatever the route: declared once here rather than on every route. */
const COMMON_RESPONSES: Record<string, string> = {
  "401": "Missing or invalid key (unauthorized)",
  "403": "The tenant is disabled (tenant_disabled)",
  "413": "Body over 64 KiB (payload_too_large)",
  "429": "Over the per-key rate limit (rate_limited); see Retry-After",
  "503": "The relay's database is not reachable (service_unavailable); see Retry-After",
};

type MediaTypes = Record<string, { schema?: unknown; example?: unknown }>;
type Operation = {
  requestBody?: { content?: MediaTypes };
  responses?: Record<string, { description?: string; content?: MediaTypes }>;
};
type Document = { paths?: object };
const operations = (doc: Document) =>
  Object.entries((doc.paths ?? {}) as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op })),
  );

/** Puts each example of ROUTE_EXAMPLES on the JSON media type of its operation's request or response. */
function withExamples<T extends Document>(doc: T): T {
  for (const { path, method, op } of operations(doc)) {
    for (const [key, example] of Object.entries(ROUTE_EXAMPLES[`${method.toUpperCase()} ${path}`] ?? {})) {
      const content = key === "request" ? op.requestBody?.content : op.responses?.[key]?.content;
      const media = content?.["application/json"];
      if (media) media.example ??= example;
    }
  }
  return doc;
}

function withCommonResponses<T extends Document>(doc: T): T {
  const errorRef = { content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  for (const { path, op } of operations(doc)) {
    if (!path.startsWith("/v1/")) continue;
    op.responses ??= {};
    for (const [status, description] of Object.entries(COMMON_RESPONSES)) {
      if (status === "403" && path.startsWith("/v1/admin")) continue;
      op.responses[status] ??= { description, ...errorRef };
    }
  }
  return doc;
}

/**
 * Serves `GET /openapi.json` (OpenAPI 3.1, public): every route registered on `app` with its schemas and
 * examples, the security schemes, the error responses common to /v1, and the callback under `webhooks`.
 * Call after every route is mounted; the document is built on the first request and kept.
 */
export function serveOpenApiDocument<E extends Env>(app: OpenAPIHono<E>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "The relay API key (RELAY_API_KEY, or the key printed at first start).",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminKey", {
    type: "http",
    scheme: "bearer",
    description: "RELAY_ADMIN_KEY (the admin API exists only when it is set).",
  });
  registerCallbackWebhook(app);
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  app.get("/openapi.json", (c) => {
    document ??= withExamples(
      withCommonResponses(
        app.getOpenAPI31Document({
          openapi: "3.1.0",
          info: {
            title: "rendley-relay",
            version: VERSION,
            description:
              "Turns Rendley's polling-only job API into signed push callbacks. The callback request is described under `webhooks`.",
          },
        }),
      ),
    );
    return c.json(document);
  });
}
