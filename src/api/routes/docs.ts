import { swaggerUI } from "@hono/swagger-ui";
import { Hono } from "hono";

/** `GET /docs`: Swagger UI over `/openapi.json`, public like the document (no API key; "Authorize" takes one). */
export function docsRoutes() {
  const app = new Hono();
  app.get("/docs", swaggerUI({ url: "/openapi.json", title: "rendley-relay API", persistAuthorization: false }));
  return app;
}
