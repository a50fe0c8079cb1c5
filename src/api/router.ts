import { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "./auth.js";
import { validationErrorFrom } from "./errors.js";

/** How a validation target is named in error details when the problem is the whole value. */
const TARGET_NAMES: Record<string, string> = { json: "body", query: "query", param: "path", header: "headers" };

/** A sub-app whose validation failures become the project's 400 envelope (zod-openapi's default embeds raw issues). */
export function createRouter() {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationErrorFrom(result.error, TARGET_NAMES[result.target] ?? result.target);
    },
  });
}
