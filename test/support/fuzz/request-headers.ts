/** Request headers: Authorization (valid, another tenant's, hostile), Content-Type, Idempotency-Key and extras. */
import fc from "fast-check";
import { TEST_API_KEY } from "../relay-harness.js";
import { ADMIN_KEY } from "./constants.js";
import { hostileString, huge, toByteString, weighted } from "./hostile-text.js";
import type { Fixtures, Route } from "./routes.js";

export function headerArbitraries(fx: Fixtures) {
  const validKeyFor = (auth: Route["auth"]) => (auth === "admin" ? `Bearer ${ADMIN_KEY}` : `Bearer ${TEST_API_KEY}`);
  const hostileAuth = weighted<string[]>(
    [
      4,
      fc.constantFrom(
        [],
        [""],
        ["Bearer"],
        ["Bearer "],
        ["Basic dXNlcjpwYXNz"],
        [`bearer ${TEST_API_KEY}`],
        [`BEARER    ${TEST_API_KEY}`],
        [TEST_API_KEY],
        [`Token ${TEST_API_KEY}`],
        [`Bearer ${TEST_API_KEY} extra`],
        [`Bearer ${TEST_API_KEY}x`],
        [`Bearer\t${TEST_API_KEY}`],
        [`Bearer ${TEST_API_KEY.slice(0, -1)}`],
        [`Bearer ${ADMIN_KEY.toUpperCase()}`],
        [`Bearer ${TEST_API_KEY}`, "Bearer junk"],
        ["Bearer junk", `Bearer ${ADMIN_KEY}`],
        [`Bearer ${toByteString("clé😀")}`],
        [`Bearer ${"x".repeat(513)}`],
      ),
    ],
    [1, huge(1_000, 10_000).map((s) => [`Bearer ${s}`])],
    [1, hostileString.map((s) => [toByteString(s)])],
  );
  const authFor = (auth: Route["auth"]) =>
    weighted<string[]>(
      [auth === "none" ? 2 : 12, fc.constant([validKeyFor(auth)])],
      [1, fc.constant([`Bearer ${auth === "admin" ? TEST_API_KEY : ADMIN_KEY}`])],
      [1, fc.constant([`Bearer ${fx.tenantBKey}`])],
      [4, hostileAuth],
    );
  const contentType = weighted<string[]>(
    [12, fc.constant(["application/json"])],
    [2, fc.constant(["application/json; charset=utf-8"])],
    [
      4,
      fc.constantFrom(
        [],
        ["APPLICATION/JSON"],
        ["application/vnd.api+json"],
        ["application/merge-patch+json"],
        ["application/jsonx"],
        ["text/json"],
        ["text/plain"],
        ["multipart/form-data; boundary=x"],
        ["application/x-www-form-urlencoded"],
        ["}{"],
        ["application/json; charset=latin1"],
        ["application/json", "text/plain"],
        ["application/json;;;"],
        ["*/*"],
        [""],
        [toByteString("application/json; é")],
      ),
    ],
  );
  const idempotencyKey = weighted<string[]>(
    [6, fc.constant([])],
    [3, fc.constantFrom(["fuzz-k1"], ["fuzz-k2"], ["fuzz-k3"])],
    [2, fc.stringMatching(/^[\x21-\x7e]{1,40}$/).map((k) => [k])],
    [
      2,
      fc.constantFrom(
        [""],
        [" "],
        ["a b"],
        ["x".repeat(256)],
        ["x".repeat(10_000)],
        [toByteString("ключ")],
        ["\x01\x02"],
        ["\x7f"],
        ["k\tk"],
        ["fuzz-k1", "fuzz-k2"],
      ),
    ],
  );
  const extraHeaders = weighted<Array<[string, string]>>(
    [8, fc.constant([])],
    [
      2,
      fc
        .constantFrom<[string, string]>(
          ["x-request-id", "x".repeat(100)],
          ["x-request-id", "../../etc"],
          ["x-request-id", toByteString("é")],
          ["accept", "text/html"],
          ["accept", "*/*;q=0"],
          ["x-forwarded-for", "127.0.0.1"],
          ["x-http-method-override", "DELETE"],
          ["content-encoding", "gzip"],
          ["range", "bytes=0-1"],
          ["if-none-match", "*"],
        )
        .map((h) => [h]),
    ],
    [
      1,
      fc
        .tuple(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), hostileString)
        .map(([n, v]) => [[n, toByteString(v)] as [string, string]]),
    ],
  );

  return { validKeyFor, authFor, contentType, idempotencyKey, extraHeaders };
}
