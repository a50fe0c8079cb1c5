import { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "./auth.js";
import { validationErrorFrom } from "./errors.js";

/** A sub-app whose validation failures become the project's 400 envelope (zod-openapi's default embeds raw issues). */
export function createRouter() {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationErrorFrom(result.error, result.target);
    },
  });
}
