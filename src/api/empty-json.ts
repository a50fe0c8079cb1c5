import type { MiddlewareHandler } from "hono";

/**
 * `content-type: application/json` with an empty body (`curl -X POST -H 'content-type: application/json'`)
 * means "all defaults", like no body at all (which zod-openapi already lets through for an optional body).
 */
export const emptyJsonMeansDefaults: MiddlewareHandler = async (c, next) => {
  if (/^application\/([\w.-]+\+)?json/i.test(c.req.header("content-type") ?? "")) {
    const text = await c.req.text();
    // json() parses the cached text: hand it an empty object instead of an empty string.
    if (text.trim() === "") (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve("{}");
  }
  await next();
};
