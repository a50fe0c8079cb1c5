/** Whole fuzzed requests: a weighted route, its method, path, query, headers and body. */
import fc from "fast-check";
import { hostileBody } from "./hostile-bodies.js";
import { weighted } from "./hostile-text.js";
import { idAndQueryArbitraries } from "./ids-and-queries.js";
import { headerArbitraries } from "./request-headers.js";
import { JUNK_PATHS, METHODS, ROUTES, type Fixtures, type Route } from "./routes.js";
import { labelBody, recoverBody, rendleyKeyBody, rotateBody, tenantBody } from "./tenant-and-admin-bodies.js";
import { watchBody } from "./watch-bodies.js";

/** One fuzzed request, as sent in-process or with fetch. */
export interface Spec {
  method: string;
  /** Path and query, as the client writes them (the URL parser normalises them like a real client's). */
  path: string;
  headers: Array<[string, string]>;
  body?: string | Uint8Array | undefined;
  /** Send it twice (idempotency, repeatability). */
  repeat: boolean;
}

/** Requests against the routes, with ids and keys from the world's fixtures. */
export function specArbitrary(fx: Fixtures): fc.Arbitrary<Spec> {
  const { watchId, tenantId, keyId, queryFor } = idAndQueryArbitraries(fx);
  const { validKeyFor, authFor, contentType, idempotencyKey, extraHeaders } = headerArbitraries(fx);

  const bodyFor = (kind: Route["body"]): fc.Arbitrary<string | Uint8Array | undefined> => {
    const natural: fc.Arbitrary<string | Uint8Array | undefined> =
      kind === "watch"
        ? watchBody
        : kind === "rotate"
          ? rotateBody
          : kind === "recover"
            ? recoverBody
            : kind === "tenant"
              ? tenantBody
              : kind === "rendley"
                ? rendleyKeyBody
                : kind === "label"
                  ? labelBody
                  : weighted<string | Uint8Array | undefined>([4, fc.constant(undefined)], [1, watchBody]);
    return weighted<string | Uint8Array | undefined>([8, natural], [2, hostileBody]);
  };

  const routeArb = fc.oneof(...ROUTES.map((route) => ({ weight: route.weight, arbitrary: fc.constant(route) })));
  const spec: fc.Arbitrary<Spec> = routeArb.chain((route) =>
    fc
      .record({
        method: weighted<string>([8, fc.constant(route.method)], [2, fc.constantFrom(...METHODS)]),
        id: watchId,
        tid: tenantId,
        kid: keyId,
        junk: fc.constantFrom(...JUNK_PATHS),
        query: queryFor(route.query),
        auth: authFor(route.auth),
        contentType,
        idempotencyKey: route.body === "watch" ? idempotencyKey : weighted<string[]>([10, fc.constant([])], [1, idempotencyKey]),
        extra: extraHeaders,
        body: bodyFor(route.body),
        repeat: weighted<boolean>([1, fc.constant(true)], [5, fc.constant(false)]),
        // A well-formed request (right method, key, content type): only the path and body are hostile.
        clean: weighted<boolean>([2, fc.constant(true)], [3, fc.constant(false)]),
        cleanIdempotencyKey: weighted<string[]>(
          [3, fc.constant([])],
          [1, fc.constantFrom(["fuzz-k1"], ["fuzz-k2"])],
          [2, fc.stringMatching(/^[A-Za-z0-9-]{16,32}$/).map((k) => [k])],
        ),
      })
      .map((input): Spec => {
        const r = input.clean
          ? {
              ...input,
              method: route.method,
              auth: route.auth === "none" ? [] : [validKeyFor(route.auth)],
              contentType: ["application/json"],
              idempotencyKey: route.body === "watch" ? input.cleanIdempotencyKey : [],
              extra: [],
            }
          : input;
        const path =
          route.template === "{junk}"
            ? r.junk
            : route.template.replace("{id}", r.id).replace("{tid}", r.tid).replace("{kid}", r.kid) + r.query;
        const noBody = /^(GET|HEAD)$/i.test(r.method);
        const headers: Array<[string, string]> = [
          ...r.auth.map((v): [string, string] => ["authorization", v]),
          ...(r.body === undefined && r.contentType.length === 1
            ? []
            : r.contentType.map((v): [string, string] => ["content-type", v])),
          ...r.idempotencyKey.map((v): [string, string] => ["idempotency-key", v]),
          ...r.extra,
        ];
        return { method: r.method, path, headers, body: noBody ? undefined : r.body, repeat: r.repeat };
      }),
  );

  return spec;
}
