import { getOpenApiMetadata } from "@asteasolutions/zod-to-openapi";
import type { z } from "@hono/zod-openapi";
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/api/app.js";
import { RelayEventSchema } from "../../../src/api/openapi-callback.js";
import { isUndocumentedPath, UNDOCUMENTED_PATHS } from "../../../src/api/openapi-document.js";
import {
  EVENT_EXAMPLE,
  EVENT_HEADERS_EXAMPLE,
  EXAMPLE_SIGNING_SECRET,
  ROUTE_EXAMPLES,
} from "../../../src/api/openapi-examples.js";
import { loadConfig } from "../../../src/config.js";
import type { Database } from "../../../src/db/client.js";
import { buildEventBody } from "../../../src/domain/events.js";
import { signPayload } from "../../../src/delivery/sign.js";
import { createDeps } from "../../../src/deps.js";
import { createLogger } from "../../../src/lib/logger.js";
import { isRelayEvent } from "../../../src/receiver/index.js";
import { checkJsonSchema } from "./json-schema-check.js";

// Building the app and its document touches no database: a stand-in is enough. The admin key turns the admin API on.
const config = loadConfig({
  RENDLEY_API_KEY: "rk_test_0123456789",
  RELAY_ADMIN_KEY: "adm_test_0123456789abcdef0123",
  RELAY_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64"),
});
const deps = createDeps(config, {} as Database, createLogger({ level: "silent" }));
const app = createApp(deps);
afterAll(() => deps.close());

type Media = { schema?: unknown; example?: unknown };
type Operation = {
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
};
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  webhooks?: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};
const doc = (await (await app.request("/openapi.json")).json()) as Doc;

type RouteDef = {
  method: string;
  path: string;
  request?: { body?: { content: Record<string, { schema?: unknown }> } } & Record<string, unknown>;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};
const definitions = app.openAPIRegistry.definitions;
const routeDefs = definitions.filter((d) => d.type === "route").map((d) => (d as { route: RouteDef }).route);
const webhookDefs = definitions.filter((d) => d.type === "webhook").map((d) => (d as { webhook: RouteDef }).webhook);

/** A zod schema (zod's check objects also carry `_zod`, but cannot parse). */
const isZod = (value: unknown): value is z.ZodType =>
  typeof value === "object" && value !== null && "_zod" in value && typeof (value as z.ZodType).safeParse === "function";
const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

/** Every zod schema reachable from `root` (objects, arrays, unions, wrappers, pipes…), each once. */
function* zodNodes(root: unknown, seen = new Set<unknown>()): Generator<z.ZodType> {
  if (!isZod(root) || seen.has(root)) return;
  seen.add(root);
  yield root;
  const def = (root as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  for (const [name, value] of Object.entries(def)) {
    if (name === "getter") continue; // z.lazy: not used by the API; would recurse forever
    const children = Array.isArray(value) ? value : name === "shape" && value ? Object.values(value) : [value];
    for (const child of children) yield* zodNodes(child, seen);
  }
}

/** The zod schemas a route validates or answers with. */
function routeSchemas(route: RouteDef): unknown[] {
  const request = route.request ?? {};
  const bodies = Object.values(request.body?.content ?? {}).map((m) => m.schema);
  const parts = ["params", "query", "headers", "cookies"].flatMap((p) => (Array.isArray(request[p]) ? request[p] : [request[p]]));
  const responses = Object.values(route.responses).flatMap((r) => Object.values(r.content ?? {}).map((m) => m.schema));
  return [...bodies, ...parts, ...responses];
}

function mustParse(schema: unknown, example: unknown, where: string) {
  expect(isZod(schema), `${where}: has a zod schema`).toBe(true);
  const result = (schema as z.ZodType).safeParse(example);
  expect(result.success ? [] : result.error.issues, `${where}: example validates against the route's zod schema`).toEqual([]);
}

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 and lists exactly the routes the app serves (UNDOCUMENTED_PATHS aside)", () => {
    expect(doc.openapi).toBe("3.1.0");
    const served = new Set(
      app.routes
        .filter((r) => r.method !== "ALL" && !isUndocumentedPath(r.path))
        .map((r) => key(r.method, r.path.replace(/:(\w+)/g, "{$1}"))),
    );
    const documented = new Set(
      Object.entries(doc.paths)
        .filter(([path]) => !isUndocumentedPath(path))
        .flatMap(([path, ops]) => Object.keys(ops).map((method) => key(method, path))),
    );
    expect([...documented].sort()).toEqual([...served].sort());
    expect(served.size).toBeGreaterThanOrEqual(20);
    expect(served).toContain("POST /v1/watches");
    expect(served).toContain("DELETE /v1/admin/tenants/{id}/api-keys/{key_id}");
  });

  it("serves the undocumented pages it names, and keeps them out of paths", () => {
    const served = new Set(app.routes.map((r) => r.path));
    expect(UNDOCUMENTED_PATHS).toEqual(expect.arrayContaining(["/openapi.json", "/docs"]));
    for (const path of ["/openapi.json", "/docs"]) {
      expect(served).toContain(path);
      expect(doc.paths[path]).toBeUndefined();
    }
  });

  it("every operation with a JSON body or a 2xx answer carries an example", () => {
    const resolve = (schema: unknown): { example?: unknown } => {
      const ref = (schema as { $ref?: string } | undefined)?.$ref;
      return (ref ? doc.components.schemas[ref.split("/").pop()!] : schema) as { example?: unknown };
    };
    const hasExample = (media: Media) => media.example !== undefined || resolve(media.schema)?.example !== undefined;
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const body = Object.values(op.requestBody?.content ?? {});
        if (body.length > 0 && !body.some(hasExample)) missing.push(`${key(method, path)} request`);
        const ok = Object.entries(op.responses).filter(([status]) => status.startsWith("2"));
        const media = ok.flatMap(([, r]) => Object.values(r.content ?? {}));
        if (media.length > 0 && !media.some(hasExample)) missing.push(`${key(method, path)} 2xx response`);
      }
    }
    expect(missing, "add an example in src/api/openapi-examples.ts (or .openapi({ example }) on the schema)").toEqual([]);
  });

  it("every whole-body example validates against the zod schema its route uses", () => {
    const byKey = new Map(routeDefs.map((r) => [key(r.method, r.path), r]));
    for (const [operation, examples] of Object.entries(ROUTE_EXAMPLES)) {
      const route = byKey.get(operation);
      expect(route, `${operation} is a route`).toBeDefined();
      for (const [target, example] of Object.entries(examples)) {
        const content = target === "request" ? route!.request?.body?.content : route!.responses[target]?.content;
        expect(content?.["application/json"], `${operation} ${target} has a JSON body`).toBeDefined();
        mustParse(content!["application/json"]!.schema, example, `${operation} ${target}`);
      }
    }
  });

  it("every field and schema example validates against the zod schema it is declared on", () => {
    let checked = 0;
    for (const route of [...routeDefs, ...webhookDefs]) {
      for (const root of routeSchemas(route)) {
        for (const node of zodNodes(root)) {
          const meta = getOpenApiMetadata(node) as { example?: unknown; examples?: unknown[] } | undefined;
          const examples = [...(meta?.example !== undefined ? [meta.example] : []), ...(meta?.examples ?? [])];
          for (const example of examples) {
            mustParse(node, example, `${key(route.method, route.path)}: example ${JSON.stringify(example).slice(0, 60)}`);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it("every example in the served document validates against the JSON schema it sits on", () => {
    const problems: string[] = [];
    let checked = 0;
    const visit = (node: unknown, at: string, schemaHere: boolean) => {
      if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${at}/${i}`, false));
      if (typeof node !== "object" || node === null) return;
      const o = node as Record<string, unknown>;
      if ("example" in o && (schemaHere || "schema" in o)) {
        problems.push(...checkJsonSchema(schemaHere ? o : o.schema, o.example, doc, at));
        checked++;
      }
      for (const [k, v] of Object.entries(o)) {
        if (k === "example" || k === "examples") continue;
        // Below `schema`, `properties/*`, `items`, `anyOf/*`… every object is a schema.
        const childIsSchema =
          k === "schema" || k === "items" || k === "additionalProperties" || (schemaHere && k !== "properties");
        if (k === "properties" && typeof v === "object" && v)
          for (const [p, s] of Object.entries(v)) visit(s, `${at}/properties/${p}`, true);
        else visit(v, `${at}/${k}`, childIsSchema || at.endsWith("/components/schemas"));
      }
    };
    visit(doc, "#", false);
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });
});

describe("OpenAPI webhooks (the callback request)", () => {
  const callback = doc.webhooks?.jobEvent?.post as
    (Operation & { parameters: Array<{ name: string; in: string; required: boolean }> }) | undefined;

  it("describes the POST body and the three Standard Webhooks headers", () => {
    expect(callback).toBeDefined();
    expect(callback!.requestBody!.content["application/json"]!.schema).toEqual({ $ref: "#/components/schemas/RelayEvent" });
    expect(callback!.parameters.filter((p) => p.in === "header" && p.required).map((p) => p.name)).toEqual([
      "webhook-id",
      "webhook-timestamp",
      "webhook-signature",
    ]);
    expect(Object.keys(callback!.responses)).toEqual(expect.arrayContaining(["2XX", "410"]));
  });

  it("matches what the relay really sends: events built by the relay validate against RelayEventSchema", () => {
    const job = {
      id: "job_1",
      type: "export_video",
      status: "completed" as const,
      result_data: '{"a":1}',
      error: null,
      extra: 1,
    };
    const bodies = [
      buildEventBody({ type: "job.completed", observedAt: new Date(), watchId: "wch_1", jobId: "job_1", job, metadata: null }),
      buildEventBody({
        type: "watch.expired",
        observedAt: new Date(),
        watchId: "wch_1",
        jobId: "job_1",
        job: null,
        metadata: { a: 1 },
        reason: "job_not_found",
      }),
      buildEventBody({
        type: "job.completed",
        observedAt: new Date(),
        watchId: "wch_1",
        jobId: "job_1",
        job: { ...job, input_data: "x".repeat(300 * 1024) },
        metadata: null,
      }),
    ];
    for (const body of bodies) {
      const event = JSON.parse(body) as unknown;
      mustParse(RelayEventSchema, event, "relay event");
      expect(isRelayEvent(event)).toBe(true); // the receiver's check agrees with the document
    }
    expect(JSON.parse(bodies[2]!).data.truncated).toBe(true);
  });

  it("its example headers are the real signature of the example body", () => {
    const { "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": signature } = EVENT_HEADERS_EXAMPLE;
    expect(signPayload([EXAMPLE_SIGNING_SECRET], id, Number(ts), JSON.stringify(EVENT_EXAMPLE))).toBe(signature);
  });
});

describe("GET /docs", () => {
  it("serves Swagger UI over /openapi.json without an API key", async () => {
    const res = await app.request("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain("SwaggerUIBundle");
    expect(html).toContain("/openapi.json");
    expect((await app.request("/openapi.json")).status).toBe(200);
  });
});
